"""What ``kssl embed`` reads: an image folder, an .npz/.npy array or text files, as ids and samples read in chunks.

The samples are prepared the way the run's datasets prepare theirs: image files are decoded
and resized as the ``image_folder`` dataset does, integer arrays scaled to [0, 1] as the
``numpy`` dataset does, texts whitespace-normalised as the ``text_files`` dataset does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kssl.data._prep import to_float_images
from kssl.data.image_folder import EXTENSIONS, _is_image
from kssl.data.image_folder import _read as read_images
from kssl.data.text_files import _read as read_text
from kssl.errors import KsslError

__all__ = ["TEXT", "EmbeddingInputs", "check_exists", "read_inputs"]

TEXT = "text"  # what a model takes when its embed takes raw strings (else: a per-sample shape)
_ACCEPTED = "an image folder, an .npz or .npy array file, a .txt file (one text per line) or a folder of .txt files (one text per file)"
_CHECK_ROWS = 4096  # rows checked for NaN/Inf at a time (an .npy is memory-mapped, not loaded)


@dataclass(frozen=True)
class EmbeddingInputs:
    """The samples of an input: ``ids`` (one str per sample), ``read(start, stop)`` -> those samples as the model's
    ``embed`` takes them, and ``description`` (what was found, for progress lines)."""

    ids: list
    read: Callable
    description: str

    def __len__(self) -> int:
        return len(self.ids)


def expected(takes) -> str:
    """What a model that ``takes`` this wants, in words."""
    if takes == TEXT:
        return "raw text: a .txt file (one text per line) or a folder of .txt files (one text per file)"
    if _image_shape(takes):
        channels = f"{takes[2]} channel{'s' if takes[2] > 1 else ''}"
        return f"images ({takes[0]}x{takes[1]}, {channels}): a folder of image files, or an array of shape {_batch_shape(takes)}"
    return f"arrays of per-sample shape {takes}: an .npz or .npy file of shape {_batch_shape(takes)}"


def _batch_shape(takes) -> str:
    return f"(N, {', '.join(str(d) for d in takes)})"


def _image_shape(takes) -> bool:
    return takes != TEXT and len(takes) == 3 and takes[0] is not None and takes[0] == takes[1] and takes[2] in (1, 3)


def _mismatch(where: str, received: str, takes) -> KsslError:
    return KsslError(
        f"INPUT {where!r}: received {received}, but the run's model takes {expected(takes)}. "
        "Give INPUT in that form (or embed with a run trained on such data)."
    )


def check_exists(path) -> Path:
    """``path`` as a Path, or the error that says it does not exist and what INPUT may be."""
    path = Path(str(path)).expanduser()
    if not (path.is_dir() or path.is_file()):
        raise KsslError(f"INPUT {str(path)!r}: no such file or folder. Give {_ACCEPTED}.")
    return path


def read_inputs(path, takes, encoding: str = "utf-8") -> EmbeddingInputs:
    """The samples of ``path`` for a model that ``takes`` :data:`TEXT` or arrays of a per-sample shape (a tuple).

    A kind of input the model cannot take, an unreadable or empty input, an array of the wrong
    per-sample shape or with NaN/Inf values raise :class:`~kssl.errors.KsslError`.
    """
    path = check_exists(path)
    where = str(path)
    if path.is_dir():
        return _folder(path, takes, encoding)
    suffix = path.suffix.lower()
    if suffix in (".npz", ".npy"):
        x, ids, what = _load_array(path)
        return _array_inputs(x, ids, f"{where} {what}".strip(), takes)
    if suffix == ".txt":
        if takes != TEXT:
            raise _mismatch(where, "a text file", takes)
        lines = [(n, " ".join(line.split())) for n, line in enumerate(read_text(path, encoding).splitlines(), 1) if line.strip()]
        if not lines:
            raise KsslError(f"INPUT {where!r}: the file holds no text (only blank lines). Give a .txt file with one text per line.")
        texts = [t for _, t in lines]
        return EmbeddingInputs([str(n) for n, _ in lines], lambda i, j: texts[i:j], f"{len(texts)} texts (non-blank lines) in {where!r}")
    if suffix in EXTENSIONS:
        raise KsslError(f"INPUT {where!r}: a single image; give the folder that holds it (every image in a folder is embedded).")
    raise KsslError(f"INPUT {where!r}: cannot tell what the file holds from its suffix {path.suffix or '(none)'!r}. Give {_ACCEPTED}.")


def _folder(root: Path, takes, encoding: str) -> EmbeddingInputs:
    where = str(root)
    files = sorted(f for f in root.rglob("*") if f.is_file() and not any(p.startswith(".") for p in f.relative_to(root).parts))
    images = [f for f in files if _is_image(f)]
    texts = [f for f in files if f.suffix.lower() == ".txt"]
    found, other = (texts, images) if takes == TEXT else (images, texts)
    if not found:
        if other:
            kind = "image files" if takes == TEXT else ".txt files"
            raise _mismatch(where, f"a folder of {len(other)} {kind} such as {other[0].relative_to(root).as_posix()!r}", takes)
        looked = ".txt" if takes == TEXT else ", ".join(EXTENSIONS)
        raise KsslError(f"INPUT {where!r}: no inputs found (looked for {looked} files in it and in its sub-folders). Point INPUT at a folder that holds them.")
    ids = [f.relative_to(root).as_posix() for f in found]
    if takes == TEXT:
        return _text_files(found, ids, where, encoding)
    if not _image_shape(takes):
        raise _mismatch(where, f"a folder of {len(found)} images", takes)
    size, channels = takes[0], takes[2]
    return EmbeddingInputs(ids, lambda i, j: read_images(found[i:j], size, channels), f"{len(found)} images in {where!r}")


def _text_files(files: list, ids: list, where: str, encoding: str) -> EmbeddingInputs:
    texts = []
    for f in files:
        content = read_text(f, encoding)
        if not content.strip():
            raise KsslError(f"INPUT {where!r}: {f.relative_to(where).as_posix()!r} is empty (no text). Remove it or add text to it.")
        texts.append(" ".join(content.split()))
    return EmbeddingInputs(ids, lambda i, j: texts[i:j], f"{len(texts)} texts (.txt files) in {where!r}")


def _load_array(path: Path):
    """(x, ids or None, which array) of an .npz (``x``, or its only array; optional ``ids``) or a memory-mapped .npy."""
    how = "Save it with np.savez(path, x=samples, ids=names) or np.save(path, samples)."
    try:
        if path.suffix.lower() == ".npy":
            return np.load(path, mmap_mode="r", allow_pickle=False), None, ""
        with np.load(path, allow_pickle=False) as npz:
            names = list(npz.files)
            candidates = [k for k in names if k != "ids"]
            key = "x" if "x" in names else (candidates[0] if len(candidates) == 1 else None)
            if key is None:
                raise KsslError(f"INPUT {str(path)!r}: expected an array named `x` (or a single array), found {', '.join(names) or 'no arrays'}. {how}")
            return npz[key], (npz["ids"] if "ids" in names else None), f"`{key}`"
    except KsslError:
        raise
    except Exception as exc:  # noqa: BLE001 - anything np.load rejects (a damaged file, pickled objects) is a bad file
        raise KsslError(f"INPUT {str(path)!r}: not a readable {path.suffix} file ({exc}). {how}") from None


def _array_inputs(x, ids, where: str, takes) -> EmbeddingInputs:
    if takes == TEXT:
        raise _mismatch(where, f"an array of shape {x.shape} and dtype {x.dtype}", takes)
    if x.ndim < 1 or len(x) == 0:
        raise KsslError(f"INPUT {where!r}: the array has no samples (shape {x.shape}). Give an array of shape {_batch_shape(takes)} with N >= 1.")
    to_float_images(x[:1], f"INPUT {where!r}")  # numeric dtype, or the dataset's message
    sample = tuple(x.shape[1:])
    if not (_fits(sample, takes) or _fits((*sample, 1), takes)):
        raise _mismatch(where, f"an array of shape {x.shape} (per-sample shape {sample})", takes)
    if np.issubdtype(x.dtype, np.floating):
        _check_finite(x, where)
    if ids is None:
        ids = [str(i) for i in range(len(x))]
    else:
        ids = [str(i) for i in np.asarray(ids).reshape(-1)]
        if len(ids) != len(x):
            raise KsslError(f"INPUT {where!r}: `ids` has {len(ids)} entries but the array has {len(x)} samples; give one id per sample.")
        if any("\n" in i or "\r" in i for i in ids):
            raise KsslError(f"INPUT {where!r}: an id contains a line break; ids are written one per line, so remove line breaks from them.")
    shape = tuple(x.shape[1:]) + ((1,) if not _fits(sample, takes) else ())

    def read(i, j):
        return to_float_images(x[i:j], f"INPUT {where!r}").reshape((j - i, *shape))  # uint8 -> [0, 1] as the numpy dataset scales

    return EmbeddingInputs(ids, read, f"{len(x)} samples of shape {sample} in {where!r}")


def _fits(sample: tuple, takes: tuple) -> bool:
    return len(sample) == len(takes) and all(t is None or s == t for s, t in zip(sample, takes, strict=True))


def _check_finite(x, where: str) -> None:
    bad, first = 0, None
    for start in range(0, len(x), _CHECK_ROWS):
        rows = ~np.isfinite(np.asarray(x[start : start + _CHECK_ROWS])).reshape(min(_CHECK_ROWS, len(x) - start), -1).all(axis=1)
        if rows.any():
            first = start + int(np.flatnonzero(rows)[0]) if first is None else first
            bad += int(rows.sum())
    if bad:
        raise KsslError(f"INPUT {where!r}: {bad} sample(s) hold NaN or Inf values (the first is row {first}). Remove or repair them before embedding.")
