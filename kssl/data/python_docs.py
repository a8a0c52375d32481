"""The offline default text corpus: docstrings of the Python standard library, labeled by module."""

from __future__ import annotations

from kssl.checks import check_int
from kssl.data.splits import DataSplits
from kssl.errors import ArgumentError
from kssl.text.corpus import DEFAULT_MODULES, python_docstrings
from kssl.text.splits import check_text_args, text_splits


def python_docs(
    modules=DEFAULT_MODULES,
    min_words: int = 5,
    sequence_length: int = 128,
    vocabulary_size: int | None = None,
    vocabulary: str | None = None,
    lowercase: bool | None = None,
    batch_size: int = 64,
    test_fraction: float = 0.2,
    seed: int = 0,
    limit: int | None = None,
) -> DataSplits:
    """Real English text that every Python install carries: no download, deterministic.

    Each document is one module, class or function docstring (whitespace collapsed)
    of the standard-library ``modules``, read from their source files with ``ast``
    in sorted file order; duplicates and docstrings under ``min_words`` words are
    dropped. ``y`` is the index of the module a docstring comes from (the
    ``text_probe`` task); the split is stratified by module. The default ten
    packages give about 2,000 docstrings (450k characters) on CPython 3.11; the
    corpus depends on the Python version.

    Args:
        modules: top-level standard-library modules or packages, the classes.
        min_words: shortest docstring kept, in whitespace-separated words.
        sequence_length: tokens per packed sequence, [CLS] and [SEP] included.
        vocabulary_size: size of the WordPiece vocabulary learned from the training split (default 5000).
        vocabulary: instead, a vocabulary file (one token per line) or keras-hub preset folder.
        lowercase: lowercase before tokenising (default true; a preset's own setting when it records one).
        batch_size: training batch size.
        test_fraction: held-out fraction for the evaluators.
        seed: seed of the train/test split.
        limit: keep only the first N training docstrings (and a proportional share of the test ones).
    """
    if isinstance(modules, str):
        modules = [modules]
    if not isinstance(modules, (list, tuple)) or len(modules) < 2 or not all(isinstance(m, str) and m for m in modules):
        raise ArgumentError("modules", f"expected a list of at least two standard-library module names such as [asyncio, email], got {modules!r}.")
    if len(set(modules)) != len(modules):
        raise ArgumentError("modules", f"lists a module more than once: {modules!r}.")
    check_int("min_words", min_words, low=1)
    check_text_args(batch_size, test_fraction, seed, limit, vocabulary_size, vocabulary, lowercase, sequence_length)
    texts, labels, names = python_docstrings(list(modules), min_words)
    return text_splits(
        texts,
        labels,
        names,
        source="python_docs",
        batch_size=batch_size,
        test_fraction=test_fraction,
        seed=seed,
        limit=limit,
        vocabulary_size=vocabulary_size,
        vocabulary=vocabulary,
        lowercase=lowercase,
        sequence_length=sequence_length,
    )
