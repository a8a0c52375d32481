"""``kssl.export_embeddings``: a finished run's features of an image folder, an array file or texts, as .npy with ids."""

from __future__ import annotations

import inspect
import math
import os
from pathlib import Path

import numpy as np

from kssl.checks import check_int
from kssl.embedding_inputs import TEXT, EmbeddingInputs, check_exists, read_inputs
from kssl.errors import KsslError
from kssl.evaluation import say
from kssl.finished_run import check_run_dir
from kssl.recipe import load_recipe
from kssl.run_dir import DiskFullError, atomic_write_text, check_writable_dir, is_disk_full
from kssl.saving import load_model

__all__ = ["export_embeddings"]

CHUNK = 4096  # at most this many inputs (rounded to whole batches) are decoded and embedded at once: memory stays flat
DEFAULT_BATCH_SIZE = 256


def export_embeddings(run_dir, input, output, batch_size: int | None = None, overwrite: bool = False) -> Path:
    """Embed ``input`` with the trained model of the finished run ``run_dir``; write the features to ``output``.

    ``input`` is an image folder (images directly inside or in class sub-folders, decoded and
    resized to the run's input size and channels as the ``image_folder`` dataset does), an
    ``.npz`` (the array ``x`` or its only array; ids from an ``ids`` array, else row numbers),
    an ``.npy`` file (read memory-mapped), or, for a text run (masked LM), a ``.txt`` file
    (one text per non-blank line; ids are line numbers from 1) or a folder of ``.txt``
    files (one text per file; ids are relative paths). Integer arrays are scaled to [0, 1]
    as the ``numpy`` dataset does. The features come from the model's ``embed`` (frozen
    encoder features) in batches of ``batch_size`` (default: the run's ``data.batch_size``),
    a few thousand inputs at a time.

    ``output`` (a ``.npy`` path) receives a float32 (N, D) array and, beside it, ``<name>.ids.txt``
    with one id per line, both written atomically (nothing is left half-written). An existing
    output is refused unless ``overwrite``. A run that is missing or unfinished, or an input
    the model cannot take (wrong kind, wrong per-sample shape, NaN/Inf values, empty), raises
    :class:`kssl.KsslError` before anything is written. Returns the path of the ``.npy`` file.
    """
    run_dir = check_run_dir(run_dir, then="embed")
    recipe = load_recipe(run_dir / "recipe.yaml")
    npy, ids_path = _output_paths(output, overwrite)
    batch_size = check_int("batch_size", batch_size, low=1) if batch_size is not None else _default_batch_size(recipe)
    check_exists(input)  # before the model is loaded
    model = load_model(run_dir / "model.keras", compile=False)  # inference only: no optimizer state
    inputs = read_inputs(input, _model_takes(model), encoding=(recipe.get("data") or {}).get("encoding", "utf-8"))
    say(f"found {inputs.description}; embedding them in batches of {batch_size}")
    dim = _write(model, inputs, npy, ids_path, batch_size)
    say(f"wrote {len(inputs)} x {dim} float32 features to {npy} and their ids to {ids_path}")
    return npy


def _output_paths(output, overwrite: bool) -> tuple[Path, Path]:
    npy = Path(str(output)).expanduser()
    if npy.suffix.lower() != ".npy":
        raise KsslError(f"--output {str(npy)!r}: expected a .npy file name (the features are written as a NumPy array), e.g. features.npy.")
    if npy.is_dir():
        raise KsslError(f"--output {str(npy)!r}: is a folder; give the path of a .npy file to write.")
    ids = npy.with_suffix(".ids.txt")
    check_writable_dir(npy.parent, "--output")  # before the model is loaded and the inputs embedded
    existing = [str(p) for p in (npy, ids) if p.exists()]
    if existing and not overwrite:
        raise KsslError(
            f"--output: {', '.join(map(repr, existing))} already exist(s). Pass --overwrite (overwrite=True in Python) to replace, or choose another file name."
        )
    return npy, ids


def _default_batch_size(recipe: dict) -> int:
    """The run's ``data.batch_size``, else its dataset's default, else 256."""
    data = recipe.get("data") or {}
    if data.get("batch_size") is not None:
        return check_int("data.batch_size", data["batch_size"], low=1)
    from kssl.plugins import get_registry

    try:
        factory = get_registry().get("dataset", data.get("type"))
    except KsslError:  # a dataset plugin that is no longer installed: embedding does not need it
        return DEFAULT_BATCH_SIZE
    parameter = inspect.signature(factory).parameters.get("batch_size")
    default = parameter.default if parameter is not None else None
    return default if isinstance(default, int) and default >= 1 else DEFAULT_BATCH_SIZE


def _model_takes(model):
    """What ``model.embed`` takes: the per-sample shape of the arrays it was built on, or :data:`TEXT` (token-id inputs)."""
    shape = (model.get_build_config() or {}).get("input_shape")
    if isinstance(shape, (list, tuple)) and len(shape) >= 2 and all(d is None or isinstance(d, int) for d in shape):
        return tuple(shape[1:])
    try:
        dtypes = [str(t.dtype) for t in model.encoder.inputs]
    except (AttributeError, TypeError, ValueError):  # an encoder without symbolic inputs
        dtypes = []
    if dtypes and all("int" in d for d in dtypes):
        return TEXT
    raise KsslError(
        f"cannot tell what the run's {type(model).__name__} model takes (built on {shape!r}, encoder inputs {dtypes or 'unknown'}); "
        "kssl embed handles models built on arrays and text models with token-id inputs. Call model.embed(x) in Python instead."
    )


def _write(model, inputs: EmbeddingInputs, npy: Path, ids_path: Path, batch_size: int) -> int:
    """Embed ``inputs`` chunk by chunk into a temporary .npy beside ``npy``, then write the ids and rename; returns D."""
    n = len(inputs)
    n_batches = math.ceil(n / batch_size)
    per_chunk = batch_size * max(1, min(math.ceil(n_batches / 10), CHUNK // batch_size))  # ~10% of the input, at most CHUNK
    npy.parent.mkdir(parents=True, exist_ok=True)
    tmp = npy.with_name(f".{npy.name}.tmp")
    dim = None
    try:
        with open(tmp, "wb") as f:
            for start in range(0, n, per_chunk):
                stop = min(n, start + per_chunk)
                features = np.asarray(model.embed(inputs.read(start, stop), batch_size=batch_size), dtype="<f4").reshape(stop - start, -1)
                if dim is None:
                    dim = features.shape[1]
                    np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (n, dim)})
                f.write(np.ascontiguousarray(features).tobytes())
                if stop == n or 10 * stop // n > 10 * start // n:
                    say(f"embedded {stop}/{n} inputs ({math.ceil(stop / batch_size)}/{n_batches} batches)")
            f.flush()
            os.fsync(f.fileno())
        atomic_write_text(ids_path, "".join(f"{i}\n" for i in inputs.ids))
        os.replace(tmp, npy)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise DiskFullError(
                npy, f"no space left on the device while writing {npy}; nothing was written. Free some space, then run kssl embed again."
            ) from None
        raise
    return dim
