"""A directory of images; class sub-folders give labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kssl.data._prep import check_classes, check_image_args, common_args
from kssl.data.file_splits import check_stream_args, file_splits
from kssl.data.splits import DataSplits
from kssl.errors import KsslError

EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")


def _is_image(f: Path) -> bool:
    return f.is_file() and f.suffix.lower() in EXTENSIONS and not f.name.startswith(".")


def _scan(root: Path, key: str):
    """(files, labels or None, class names) for ``root``: ``root/<class>/**/image`` or loose ``root/image``."""
    if not root.is_dir():
        raise KsslError(
            f"data.{key}: no such folder {str(root)!r}. Give a directory of images "
            "(one sub-folder per class gives labels; images directly inside it are unlabeled)."
        )
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    files, labels = [], []
    for i, name in enumerate(classes):
        for f in sorted((root / name).rglob("*")):
            if _is_image(f):
                files.append(f)
                labels.append(i)
    loose = sorted(f for f in root.iterdir() if _is_image(f))
    if not files and not loose:
        raise KsslError(
            f"data.{key}: no images found in {str(root)!r} (looked for {', '.join(EXTENSIONS)} files in it and in its "
            "sub-folders). Point it at a folder that holds images."
        )
    if files and loose:
        raise KsslError(
            f"data.{key}: {str(root)!r} mixes images in class sub-folders with {len(loose)} loose image(s) such as "
            f"{loose[0].name!r}; put every image in a class folder (labeled), or none (unlabeled)."
        )
    if loose:
        return loose, None, []
    used = sorted({classes[i] for i in labels})
    if used != classes:  # empty class folders would shift nothing but give phantom classes
        index = {c: j for j, c in enumerate(used)}
        labels = [index[classes[i]] for i in labels]
        classes = used
    return files, np.array(labels, "int32"), classes


def _read(files, image_size: int, channels: int) -> np.ndarray:
    from PIL import Image

    mode = "L" if channels == 1 else "RGB"
    out = np.empty((len(files), image_size, image_size, channels), "float32")
    for i, f in enumerate(files):
        try:
            with Image.open(f) as im:
                im = im.convert(mode).resize((image_size, image_size), Image.BILINEAR)
                arr = np.asarray(im, dtype="float32") / 255.0
        except Exception as exc:  # noqa: BLE001 - PIL raises several types for a bad file
            raise KsslError(f"data: cannot read image {str(f)!r} ({type(exc).__name__}: {exc}). Remove or replace the file.") from None
        out[i] = arr.reshape(image_size, image_size, channels)
    return out


def image_folder(
    path: str,
    image_size: int = 32,
    channels: int = 3,
    test_path: str | None = None,
    batch_size: int = 256,
    test_fraction: float = 0.2,
    seed: int = 0,
    limit: int | None = None,
    stream="auto",
    on_error: str = "fail",
    eval_limit: int | None = None,
) -> DataSplits:
    """Images under ``path``: ``path/<class>/*.png`` gives labels, loose ``path/*.png`` unlabeled data.

    Args:
        path: the training folder.
        image_size: every image is resized (bilinear) to this square size.
        channels: 1 (grayscale) or 3 (RGB).
        test_path: a held-out folder with the same class sub-folders; without it a
            stratified ``test_fraction`` of labeled images is held out.
        batch_size, test_fraction, seed, limit: as for every dataset.
        stream: ``auto`` (stream from disk when the decoded images would exceed 1 GiB), ``true``
            or ``false`` (read into memory with PIL); see docs/data.md.
        on_error: ``fail`` (a file that is not a whole image stops the run, named) or ``skip``
            (left out, counted).
        eval_limit: at most this many labeled train and test samples for the evaluators.
    """
    check_image_args(image_size, channels)
    common_args(batch_size, seed, limit, test_fraction)
    check_stream_args(stream, on_error, eval_limit)
    files, labels, classes = _scan(Path(str(path)).expanduser(), "path")
    fix = "Add a second class sub-folder, or move the images directly into the folder (unlabeled images)."
    check_classes(labels, f"data.path {str(path)!r}", classes, fix)
    test = None
    if test_path is not None:
        test_files, test_labels, test_classes = _scan(Path(str(test_path)).expanduser(), "test_path")
        if test_classes != classes:
            raise KsslError(
                f"data.test_path: class folders {test_classes} differ from those of data.path {classes}; give both folders the same class sub-folders."
            )
        test = (test_files, test_labels)
    return file_splits(
        files,
        labels,
        classes,
        read=lambda paths: _read(paths, image_size, channels),
        where=f"data.path {str(path)!r}",
        image_size=image_size,
        channels=channels,
        batch_size=batch_size,
        test_fraction=test_fraction,
        seed=seed,
        limit=limit,
        stream=stream,
        on_error=on_error,
        eval_limit=eval_limit,
        test=test,
    )
