"""Bring your own text: documents from local text files (paths, folders or glob patterns)."""

from __future__ import annotations

import glob
from pathlib import Path

from kssl.checks import check_choice
from kssl.data.splits import DataSplits
from kssl.errors import ArgumentError
from kssl.text.splits import check_text_args, text_splits

DOCUMENTS = ("line", "file")
LABELS = ("none", "file", "folder")


def _expand(paths) -> list[Path]:
    """Files named by ``paths`` (files, folders searched recursively, glob patterns), sorted, each once."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if not isinstance(paths, (list, tuple)) or not paths or not all(isinstance(p, (str, Path)) and str(p) for p in paths):
        raise ArgumentError("paths", f"expected a path, a glob pattern or a list of them (e.g. [notes/*.txt]), got {paths!r}.")
    files: list[Path] = []
    for item in paths:
        item = str(Path(str(item)).expanduser())
        if glob.has_magic(item):
            matches = sorted(Path(m) for m in glob.glob(item, recursive=True))
            matches = [m for m in matches if m.is_file()]
            if not matches:
                raise ArgumentError("paths", f"the pattern {item!r} matches no file. Check the path (relative paths start at {Path.cwd()}).")
        else:
            path = Path(item)
            if path.is_dir():
                matches = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
                if not matches:
                    raise ArgumentError("paths", f"the folder {item!r} holds no file.")
            elif path.is_file():
                matches = [path]
            else:
                raise ArgumentError("paths", f"no such file or folder {item!r} (relative paths start at {Path.cwd()}).")
        files.extend(m for m in matches if m not in files)
    return files


def _read(path: Path, encoding: str) -> str:
    try:
        return path.read_text(encoding=encoding)
    except UnicodeDecodeError as exc:
        raise ArgumentError(
            "encoding",
            f"{str(path)!r} is not valid {encoding} text ({exc.reason} at byte {exc.start}). "
            f"Convert the file to {encoding}, or set data.encoding to its encoding (e.g. latin-1).",
        ) from None
    except OSError as exc:
        raise ArgumentError("paths", f"cannot read {str(path)!r}: {exc.strerror or exc}.") from None


def text_files(
    paths,
    document: str = "line",
    labels: str = "none",
    encoding: str = "utf-8",
    sequence_length: int = 128,
    vocabulary_size: int | None = None,
    vocabulary: str | None = None,
    lowercase: bool | None = None,
    batch_size: int = 64,
    test_fraction: float = 0.2,
    seed: int = 0,
    limit: int | None = None,
) -> DataSplits:
    """Documents read from text files, for pretraining on your own corpus.

    ``paths`` is a file, a folder (every file below it) or a glob pattern
    (``corpus/**/*.txt``), or a list of them; files are read in sorted order.
    ``document: line`` makes every non-blank line a document, ``document: file``
    every file. ``labels: file`` labels each document with its file's name,
    ``labels: folder`` with its parent folder's (for the ``text_probe``
    evaluator); ``none`` gives unlabeled data. A missing path, an empty file or
    a file that is not valid ``encoding`` text is an error that names the file.

    Args:
        paths: files, folders or glob patterns.
        document: ``line`` or ``file``.
        labels: ``none``, ``file`` or ``folder``.
        encoding: text encoding of the files.
        sequence_length: tokens per packed sequence, [CLS] and [SEP] included.
        vocabulary_size: size of the WordPiece vocabulary learned from the training split (default 5000).
        vocabulary: instead, a vocabulary file (one token per line) or keras-hub preset folder.
        lowercase: lowercase before tokenising (default true; a preset's own setting when it records one).
        batch_size: training batch size.
        test_fraction: held-out fraction for the evaluators.
        seed: seed of the train/test split.
        limit: keep only the first N training documents (and a proportional share of the test ones).
    """
    check_choice("document", document, DOCUMENTS)
    check_choice("labels", labels, LABELS)
    if not isinstance(encoding, str):
        raise ArgumentError("encoding", f"expected an encoding name such as utf-8, got {encoding!r}.")
    try:
        "".encode(encoding)
    except LookupError:
        raise ArgumentError("encoding", f"unknown text encoding {encoding!r}; use a Python codec name such as utf-8 or latin-1.") from None
    check_text_args(batch_size, test_fraction, seed, limit, vocabulary_size, vocabulary, lowercase, sequence_length)
    texts, names = [], []
    for path in _expand(paths):
        content = _read(path, encoding)
        if not content.strip():
            raise ArgumentError("paths", f"{str(path)!r} is empty (no text). Remove it from data.paths or add text to it.")
        name = path.stem if labels == "file" else path.parent.name
        if document == "file":
            texts.append(" ".join(content.split()))
            names.append(name)
        else:
            for line in content.splitlines():
                if line.strip():
                    texts.append(" ".join(line.split()))
                    names.append(name)
    class_names = y = None
    if labels != "none":
        class_names = sorted(set(names))
        if len(class_names) < 2:
            raise ArgumentError("labels", f"labels: {labels} found a single class {class_names!r}; labels need documents from two or more {labels}s.")
        index = {c: i for i, c in enumerate(class_names)}
        y = [index[n] for n in names]
    return text_splits(
        texts,
        y,
        class_names,
        source="text_files",
        batch_size=batch_size,
        test_fraction=test_fraction,
        seed=seed,
        limit=limit,
        vocabulary_size=vocabulary_size,
        vocabulary=vocabulary,
        lowercase=lowercase,
        sequence_length=sequence_length,
    )
