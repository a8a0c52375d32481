"""Arrays from an .npz file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kssl.data._prep import (
    check_classes,
    check_image_args,
    check_not_empty,
    check_training_samples,
    common_args,
    encode_labels,
    resize,
    set_channels,
    split,
    take,
    to_float_images,
)
from kssl.data.splits import DataSplits
from kssl.errors import KsslError

_HOW = "Save it with np.savez(path, x=images, y=labels) or np.savez(path, x_train=..., y_train=..., x_test=..., y_test=...)."


def numpy_file(
    path: str,
    image_size: int | None = None,
    channels: int | None = None,
    batch_size: int = 256,
    test_fraction: float = 0.2,
    seed: int = 0,
    limit: int | None = None,
) -> DataSplits:
    """An .npz holding ``x`` (and optionally ``y``), or ``x_train``/``y_train``/``x_test``/``y_test``.

    Integer (uint8) images are scaled to [0, 1], float data is kept; (N, H, W) gets a
    channel axis; flat (N, D) data is kept as is. With ``x``/``y``, a stratified
    ``test_fraction`` is held out; unlabeled ``x`` is all used for training.
    Labels may be class ids or strings (then sorted into ``class_names``).

    Args:
        path: the .npz file.
        image_size: resize images to this square size (None keeps them).
        channels: convert images to 1 or 3 channels (None keeps them).
        batch_size, test_fraction, seed, limit: as for every dataset.
    """
    check_image_args(image_size, channels)
    common_args(batch_size, seed, limit, test_fraction)
    file = Path(str(path)).expanduser()
    where = str(file)
    if not file.is_file():
        raise KsslError(f"data.path: no such file {where!r}. Give the path of an .npz with an `x` array (and optional `y`). {_HOW}")
    try:
        with np.load(file, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as exc:  # noqa: BLE001 - anything np.load rejects is a bad file
        raise KsslError(f"data.path: {where!r} is not a readable .npz file ({exc}). {_HOW}") from None

    if "x_train" in arrays:
        x_tr, y_tr, x_te, y_te = (arrays.get(k) for k in ("x_train", "y_train", "x_test", "y_test"))
        found = ", ".join(arrays)
        if x_te is None and y_te is not None:
            raise KsslError(f"{where}: has `y_test` but no `x_test` (found {found}). {_HOW}")
        if x_te is not None and (y_tr is None) != (y_te is None):
            missing = "y_train" if y_tr is None else "y_test"
            raise KsslError(f"{where}: labels for one split only; `{missing}` is missing (found {found}). Give both or neither. {_HOW}")
    elif "x" in arrays:
        x_tr, y_tr, x_te, y_te = arrays["x"], arrays.get("y"), None, None
    else:
        raise KsslError(f"{where}: expected an array named `x` (or `x_train`), found {', '.join(arrays) or 'no arrays'}. {_HOW}")

    for key, xa, ya in (("x_train" if "x_train" in arrays else "x", x_tr, y_tr), ("x_test", x_te, y_te)):
        if xa is None:
            continue
        if xa.ndim < 2:
            raise KsslError(f"{where}: `{key}` must have a sample axis and features, got shape {xa.shape}. {_HOW}")
        check_not_empty(xa, f"{where} `{key}`")
        if ya is not None and len(xa) != len(ya):
            ykey = "y" if key == "x" else "y" + key[1:]
            raise KsslError(f"{where}: `{key}` has {len(xa)} samples but `{ykey}` has {len(ya)}; they must match.")
    y_tr, y_te, class_names = encode_labels(where, y_tr, y_te)
    check_classes(y_tr, f"{where}: `{'y_train' if 'x_train' in arrays else 'y'}`", class_names)
    x_tr = to_float_images(x_tr, f"{where}: `{'x_train' if 'x_train' in arrays else 'x'}`")
    if x_te is None:
        x_tr, y_tr, x_te, y_te = split(x_tr, y_tr, test_fraction, seed)
    else:
        x_te = to_float_images(x_te, f"{where}: `x_test`")
    x_tr, y_tr = take(limit, x_tr, y_tr)
    check_training_samples(x_tr, where)

    def prep(a):
        if a is None or a.ndim != 4:
            return a
        return set_channels(resize(a, image_size), channels)

    return DataSplits(prep(x_tr), y_tr, prep(x_te), y_te, batch_size=batch_size, class_names=class_names)
