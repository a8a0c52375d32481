"""``image_captions``: a folder of images and a captions file (CSV or JSONL), for image-text pre-training (CLIP)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from kssl.data._prep import check_image_args, check_training_samples, common_args, split_indices
from kssl.data.splits import DataSplits
from kssl.errors import KsslError

MISSING = {"", "nan", "none", "null", "na", "n/a"}  # what spreadsheets and pandas write for an empty cell
FORMATS = (".csv", ".jsonl")


def _missing(value) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and not math.isfinite(value):
        return True
    return isinstance(value, str) and value.strip().lower() in MISSING


def _rows(file: Path) -> list[dict]:
    """The rows of a CSV (with a header) or JSONL captions file, as dicts; numbered from 1 in messages."""
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise KsslError(f"data.captions: {str(file)!r} is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8.") from None
    if file.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        missing = [c for c in ("path", "caption") if c not in (reader.fieldnames or [])]
        if missing:
            raise KsslError(f"data.captions: {str(file)!r} lacks the column(s) {', '.join(missing)}; its header is {reader.fieldnames}; expected path,caption.")
        return list(reader)
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise KsslError(
                f'data.captions: line {n} of {str(file)!r} is not JSON ({exc.msg}); each line must be an object such as {{"path": ..., "caption": ...}}.'
            ) from None
        if not isinstance(row, dict):
            raise KsslError(f"data.captions: line {n} of {str(file)!r} is {type(row).__name__}, not an object with path and caption.")
        rows.append(row)
    return rows


def read_captions(file: Path, folder: Path) -> tuple[list[Path], list[list[str]], list | None]:
    """Images named by the captions file (first-seen order), their captions, and their labels (None without a ``label`` column)."""
    rows = _rows(file)
    if not rows:
        raise KsslError(f"data.captions: {str(file)!r} holds no caption rows; expected one row per (image, caption) pair.")
    order, captions, labels = [], {}, {}
    for n, row in enumerate(rows, 1):
        path, caption = row.get("path"), row.get("caption")
        if _missing(path):
            raise KsslError(f"data.captions: row {n} of {str(file)!r} has no image path (got {path!r}); every row needs path and caption.")
        if _missing(caption) or not isinstance(caption, str):
            raise KsslError(
                f"data.captions: row {n} of {str(file)!r} ({path}) has an empty, missing or non-text caption (got {caption!r}); remove the row or fill it in."
            )
        image = (folder / str(path)).resolve()
        if not image.is_file():
            raise KsslError(f"data.captions: row {n} of {str(file)!r} names the image {str(path)!r}, which is not in data.path {str(folder)!r}.")
        if image not in captions:
            order.append(image)
            captions[image] = []
        captions[image].append(caption.strip())
        if "label" in row:
            label = row["label"]
            if _missing(label):
                raise KsslError(f"data.captions: row {n} of {str(file)!r} ({path}) has an empty label (got {label!r}); give every row a label, or none.")
            if labels.setdefault(image, str(label)) != str(label):
                raise KsslError(f"data.captions: row {n} gives {str(path)!r} the label {label!r}, an earlier row {labels[image]!r}; an image has one label.")
    if labels and len(labels) != len(order):
        raise KsslError(f"data.captions: only some rows of {str(file)!r} have a label; give every row a label, or none.")
    return order, [captions[i] for i in order], ([labels[i] for i in order] if labels else None)


def _read_images(files: list[Path], image_size, channels: int) -> np.ndarray:
    from PIL import Image

    mode = "L" if channels == 1 else "RGB"
    images, first = [], None
    for f in files:
        try:
            with Image.open(f) as im:
                im = im.convert(mode)
                if image_size is not None:
                    im = im.resize((image_size, image_size), Image.BILINEAR)
                array = np.asarray(im, dtype="float32") / 255.0
        except Exception as exc:  # noqa: BLE001 - PIL raises several types for a bad file
            raise KsslError(f"data.path: cannot read image {str(f)!r} ({type(exc).__name__}: {exc}). Remove or replace the file.") from None
        if first is None:
            first = (f, array.shape)
        elif array.shape != first[1]:
            raise KsslError(
                f"data.image_size: the images have different sizes ({first[0].name} is {first[1][1]}x{first[1][0]}, {f.name} is "
                f"{array.shape[1]}x{array.shape[0]}); set data.image_size to resize every image (bilinear) to one square size."
            )
        images.append(array.reshape(*array.shape[:2], channels))
    return np.stack(images).astype("float32")


def image_captions(
    path: str,
    captions: str | None = None,
    image_size: int | None = None,
    channels: int = 3,
    batch_size: int = 128,
    test_fraction: float = 0.2,
    seed: int = 0,
    limit: int | None = None,
) -> DataSplits:
    """Images under ``path`` with their captions from a CSV or JSONL file (several rows per image allowed).

    Each row names an image (``path``, relative to the folder) and one ``caption``; an optional
    ``label`` column gives every image a class (labels for kNN, linear probe and zero-shot).
    Images without a caption row are not used. ``test_fraction`` of the images (not rows) is held
    out, deterministically from ``seed`` (stratified by label when there are labels).
    ``context`` carries ``train_captions`` and ``test_captions`` (one list per image) and
    ``heldout_test`` (all False: a folder declares no held-out compositions). Bad rows (a
    missing image, an empty or NaN caption) and images of mixed sizes without ``image_size``
    raise :class:`KsslError` naming the key; nothing is written.

    Args:
        path: the folder of images.
        captions: the captions file (.csv with a path,caption[,label] header, or .jsonl objects); default
            ``captions.csv`` or ``captions.jsonl`` in ``path``.
        image_size: resize every image (bilinear) to this square size; None keeps the size (all images must share it).
        channels: 1 (grayscale) or 3 (RGB).
        batch_size, test_fraction, seed, limit: as for every dataset.
    """
    check_image_args(image_size, channels)
    common_args(batch_size, seed, limit, test_fraction)
    folder = Path(str(path)).expanduser()
    if not folder.is_dir():
        raise KsslError(f"data.path: no such folder {str(folder)!r}; give the folder that holds the images.")
    file = _captions_file(folder, captions)
    files, texts, labels = read_captions(file, folder)
    x = _read_images(files, image_size, channels)
    y, class_names = None, None
    if labels is not None:
        class_names = sorted(set(labels))
        y = np.array([class_names.index(label) for label in labels], "int32")
    train, test = split_indices(len(x), y, test_fraction, seed)
    if limit is not None:
        train = train[:limit]
    check_training_samples(train, f"data.path {str(folder)!r}")
    context = {"train_captions": [texts[i] for i in train], "test_captions": [texts[i] for i in test], "heldout_test": np.zeros(len(test), bool)}
    return DataSplits(
        x[train], None if y is None else y[train], x[test], None if y is None else y[test], batch_size=batch_size, class_names=class_names, context=context
    )


def _captions_file(folder: Path, captions) -> Path:
    if captions is None:
        found = [folder / f"captions{ext}" for ext in FORMATS if (folder / f"captions{ext}").is_file()]
        if not found:
            raise KsslError(f"data.captions: no captions.csv or captions.jsonl in {str(folder)!r}; give data.captions, the captions file.")
        return found[0]
    file = Path(str(captions)).expanduser()
    if not file.is_file():
        raise KsslError(f"data.captions: no such file {str(file)!r}; give a .csv (path,caption header) or .jsonl captions file.")
    if file.suffix.lower() not in FORMATS:
        raise KsslError(f"data.captions: {str(file)!r} is neither .csv nor .jsonl; save the captions as one of them.")
    return file
