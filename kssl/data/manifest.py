"""A manifest of image files: CSV or JSON Lines rows ``path[, label]``, paths relative to the manifest."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from kssl.data._prep import check_classes, check_image_args, common_args, encode_labels
from kssl.data.file_splits import check_stream_args, file_splits
from kssl.data.image_folder import _read
from kssl.data.splits import DataSplits
from kssl.errors import KsslError

FORMATS = (".csv", ".jsonl")


def _rows(path: Path, key: str) -> list[tuple[int, str, object]]:
    """``(line number, path, label or None)`` of every row of a .csv (optional ``path,label`` header) or .jsonl manifest."""
    if path.suffix.lower() not in FORMATS:
        raise KsslError(f"data.{key}: {str(path)!r} is not a .csv or .jsonl manifest; give rows of `path[,label]` in one of those formats.")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KsslError(f"data.{key}: cannot read the manifest {str(path)!r} ({exc}). Give a readable UTF-8 .csv or .jsonl file.") from None
    rows = []
    if path.suffix.lower() == ".csv":
        for number, cells in enumerate(csv.reader(text.splitlines()), 1):
            cells = [c.strip() for c in cells]
            if not cells or not any(cells) or (number == 1 and cells[0].lower() == "path"):
                continue  # blank lines and the header
            if len(cells) > 2:
                raise KsslError(f"data.{key}: {path.name} line {number} has {len(cells)} columns; expected `path` or `path,label`.")
            label = cells[1] if len(cells) == 2 and cells[1] != "" else None
            rows.append((number, cells[0], int(label) if label is not None and label.isdigit() else label))
        return rows
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            rows.append((number, str(row["path"]), row.get("label")))
        except (ValueError, KeyError, TypeError) as exc:
            raise KsslError(f'data.{key}: {path.name} line {number} is not a JSON object with a "path" ({type(exc).__name__}: {exc}).') from None
    return rows


def _scan(manifest: Path, key: str):
    """(files, raw labels or None) of a manifest; every file must exist; all rows labeled or none."""
    if not manifest.is_file():
        raise KsslError(f"data.{key}: no such manifest {str(manifest)!r}. Give a .csv or .jsonl file of `path[,label]` rows.")
    rows = _rows(manifest, key)
    if not rows:
        raise KsslError(f"data.{key}: the manifest {str(manifest)!r} lists no images. Add `path[,label]` rows.")
    labeled = [label is not None for _, _, label in rows]
    if any(labeled) and not all(labeled):
        number = next(n for (n, _, label) in rows if (label is not None) != labeled[0])
        raise KsslError(f"data.{key}: {manifest.name} mixes labeled and unlabeled rows (e.g. line {number}); label every row or none.")
    files = [(manifest.parent / p).expanduser() for _, p, _ in rows]
    missing = [(n, f) for (n, _, _), f in zip(rows, files) if not f.is_file()]
    if missing:
        n, f = missing[0]
        raise KsslError(
            f"data.{key}: {len(missing)} file(s) listed in {manifest.name} do not exist, e.g. line {n}: {str(f)!r} "
            "(paths are relative to the manifest's folder)."
        )
    return files, (np.array([label for _, _, label in rows]) if all(labeled) else None)


def manifest(
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
    """Images listed in a manifest: ``path[,label]`` rows of a .csv (optional header) or ``{"path": ..., "label": ...}`` lines of a .jsonl.

    Paths are relative to the manifest's folder. Labels (strings or class ids) are optional; with
    them a stratified ``test_fraction`` is held out unless ``test_path`` names a second manifest.
    The other arguments are those of ``image_folder`` (streaming, ``on_error``, ``eval_limit``; docs/data.md).
    """
    check_image_args(image_size, channels)
    common_args(batch_size, seed, limit, test_fraction)
    check_stream_args(stream, on_error, eval_limit)
    files, raw = _scan(Path(str(path)).expanduser(), "path")
    test = _scan(Path(str(test_path)).expanduser(), "test_path") if test_path is not None else None
    if test is not None and (raw is None) != (test[1] is None):
        raise KsslError("data.test_path: label both manifests (path,label rows) or neither.")
    labels, test_labels, classes = encode_labels("data.path", raw, None if test is None else test[1])
    check_classes(labels, f"data.path {str(path)!r}", classes)
    test = None if test is None else (test[0], test_labels)
    return file_splits(
        files,
        labels,
        classes or [],
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
