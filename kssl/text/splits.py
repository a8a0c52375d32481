"""Text corpora -> :class:`~kssl.data.splits.DataSplits` with a WordPiece vocabulary in the context."""

from __future__ import annotations

import math

import numpy as np

from kssl.checks import check_bool, check_int
from kssl.data._prep import common_args, split_indices
from kssl.data.splits import DataSplits
from kssl.errors import ArgumentError
from kssl.text.vocabulary import MIN_VOCABULARY_SIZE, learn_vocabulary, read_vocabulary, resolve_vocabulary_path

DEFAULT_VOCABULARY_SIZE = 5000
MIN_SEQUENCE_LENGTH = 3  # [CLS], one token, [SEP]


def check_text_args(batch_size, test_fraction, seed, limit, vocabulary_size, vocabulary, lowercase, sequence_length) -> None:
    """Check the arguments every text dataset shares (ArgumentError names the bad one)."""
    common_args(batch_size, seed, limit, test_fraction)
    if vocabulary_size is not None:
        check_int("vocabulary_size", vocabulary_size, low=MIN_VOCABULARY_SIZE)
        if vocabulary is not None:
            raise ArgumentError(
                "vocabulary_size",
                f"got both vocabulary_size ({vocabulary_size}) and a vocabulary file ({vocabulary!r}): the file fixes the size. "
                "Remove one of them (vocabulary_size learns a new vocabulary from the training text).",
            )
    if vocabulary is not None and not isinstance(vocabulary, str):
        raise ArgumentError("vocabulary", f"expected the path of a vocabulary file or keras-hub preset folder, got {vocabulary!r}.")
    if vocabulary is not None:
        resolve_vocabulary_path(vocabulary)  # a missing file fails before the corpus is read
    if lowercase is not None:
        check_bool("lowercase", lowercase)
    check_int("sequence_length", sequence_length, low=MIN_SEQUENCE_LENGTH)


def text_splits(
    texts,
    labels=None,
    class_names=None,
    *,
    source: str,
    batch_size: int,
    test_fraction: float,
    seed: int,
    limit,
    vocabulary_size,
    vocabulary,
    lowercase,
    sequence_length: int,
) -> DataSplits:
    """Split ``texts`` (and optional integer ``labels``), then learn or read the vocabulary.

    ``limit`` keeps the first N training texts and a proportional share of the test
    texts. The vocabulary is learned from the training split only (``vocabulary_size``
    tokens, default 5000) unless ``vocabulary`` names a file or keras-hub preset
    folder. ``DataSplits.context`` carries ``vocabulary`` (the token list),
    ``vocabulary_size``, ``sequence_length`` and ``lowercase`` for the factories that name them.
    """
    texts = np.asarray([str(t) for t in texts], dtype=object).astype(str) if len(texts) else np.asarray([], dtype=str)
    if len(texts) == 0 or not any(t.strip() for t in texts):
        raise ArgumentError("paths" if source == "text_files" else "modules", f"{source}: the corpus is empty (no text found).")
    y = None if labels is None else np.asarray(labels, dtype="int32")
    train, test = split_indices(len(texts), y, test_fraction, seed)
    if limit is not None:
        test = test[: max(1, math.ceil(limit * len(test) / max(1, len(train))))] if len(test) else test
        train = train[:limit]
    x_train, x_test = texts[train], texts[test]
    y_train = y_test = None
    if y is not None:
        y_train, y_test = y[train], y[test]

    if vocabulary is None:
        lowercase = True if lowercase is None else lowercase
        tokens = learn_vocabulary(x_train, vocabulary_size or DEFAULT_VOCABULARY_SIZE, lowercase)
    else:
        _, preset_lowercase = resolve_vocabulary_path(vocabulary)
        if lowercase is None:
            lowercase = True if preset_lowercase is None else bool(preset_lowercase)
        tokens = read_vocabulary(vocabulary)
    context = {
        "vocabulary": tokens,
        "vocabulary_size": len(tokens),
        "sequence_length": int(sequence_length),
        "lowercase": bool(lowercase),
    }
    return DataSplits(
        x_train,
        y_train,
        x_test if len(x_test) else None,
        y_test if y is not None and len(x_test) else None,
        batch_size=batch_size,
        class_names=list(class_names) if class_names is not None else None,
        context=context,
    )
