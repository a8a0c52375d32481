"""WordPiece vocabularies: learned from training text, read from and written to files.

A vocabulary is a list of tokens, one per id; it always holds BERT's special
tokens ``[PAD] [UNK] [CLS] [SEP] [MASK]`` (learned ones start with them, ``[PAD]``
at id 0). Files hold one token per line (UTF-8), the format of keras-hub's
``WordPieceTokenizer`` and of BERT checkpoints.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kssl.checks import check_bool, check_int
from kssl.errors import ArgumentError

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
MIN_VOCABULARY_SIZE = len(SPECIAL_TOKENS) + 1


def learn_vocabulary(texts, vocabulary_size: int, lowercase: bool = True) -> list[str]:
    """Learn a WordPiece vocabulary of at most ``vocabulary_size`` tokens from ``texts``.

    Uses keras-hub's ``compute_word_piece_vocabulary`` (TensorFlow Text's
    ``bert_vocab_from_dataset``) on a ``tf.data.Dataset`` of the texts (a Python
    list would be taken for file names). Text is split on whitespace and
    punctuation; ``lowercase`` must match the tokenizer that will use it.
    The result is deterministic for the same texts.
    """
    vocabulary_size = check_int("vocabulary_size", vocabulary_size, low=MIN_VOCABULARY_SIZE)
    check_bool("lowercase", lowercase)
    texts = np.asarray([str(t) for t in texts], dtype=object)
    if len(texts) == 0 or not any(t.strip() for t in texts):
        raise ArgumentError("vocabulary_size", "cannot learn a vocabulary from an empty corpus: the training split has no text.")
    import keras_hub
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(texts.astype(str)).batch(1024)
    vocabulary = keras_hub.tokenizers.compute_word_piece_vocabulary(
        dataset,
        vocabulary_size=vocabulary_size,
        lowercase=lowercase,
        strip_accents=False,
        reserved_tokens=list(SPECIAL_TOKENS),
    )
    return [str(token) for token in vocabulary]


def _preset_vocabulary(folder: Path) -> tuple[Path, bool | None]:
    """The vocabulary file of a keras-hub preset folder, and its tokenizer's ``lowercase`` if recorded."""
    path = folder / "assets" / "tokenizer" / "vocabulary.txt"
    lowercase = None
    config = folder / "tokenizer.json"
    if config.is_file():
        try:
            lowercase = json.loads(config.read_text(encoding="utf-8")).get("config", {}).get("lowercase")
        except (ValueError, AttributeError):
            lowercase = None
    return path, lowercase


def resolve_vocabulary_path(vocabulary) -> tuple[Path, bool | None]:
    """``(file, lowercase or None)`` for a vocabulary file or a keras-hub preset folder."""
    path = Path(str(vocabulary)).expanduser()
    if path.is_dir():
        file, lowercase = _preset_vocabulary(path)
        if not file.is_file():
            raise ArgumentError(
                "vocabulary",
                f"{str(path)!r} is a folder without assets/tokenizer/vocabulary.txt; give a vocabulary file (one token per line) or a keras-hub preset folder.",
            )
        return file, lowercase
    if not path.is_file():
        raise ArgumentError("vocabulary", f"no such vocabulary file {str(path)!r}; give a text file with one token per line, or omit it to learn one.")
    return path, None


def read_vocabulary(vocabulary) -> list[str]:
    """A vocabulary from a file (or keras-hub preset folder), or a list of tokens, checked.

    Raises :class:`ArgumentError` (argument ``vocabulary``) for a missing or empty
    file, a file that is not UTF-8, duplicate tokens, or missing special tokens.
    """
    if isinstance(vocabulary, (list, tuple)):
        tokens = [str(t) for t in vocabulary]
        where = "the vocabulary list"
    elif isinstance(vocabulary, (str, Path)):
        path, _ = resolve_vocabulary_path(vocabulary)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ArgumentError("vocabulary", f"{str(path)!r} is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8.") from None
        tokens = [line.rstrip("\r") for line in text.split("\n")]
        while tokens and tokens[-1] == "":
            tokens.pop()
        where = repr(str(path))
    else:
        raise ArgumentError("vocabulary", f"expected a file path or a list of tokens, got {type(vocabulary).__name__} {vocabulary!r}.")
    if not tokens:
        raise ArgumentError("vocabulary", f"{where} is empty; expected one token per line, starting with {' '.join(SPECIAL_TOKENS)}.")
    missing = [t for t in SPECIAL_TOKENS if t not in tokens]
    if missing:
        raise ArgumentError("vocabulary", f"{where} lacks the special token(s) {' '.join(missing)}; a BERT vocabulary needs {' '.join(SPECIAL_TOKENS)}.")
    if len(set(tokens)) != len(tokens):
        seen, dupes = set(), []
        for t in tokens:
            if t in seen and t not in dupes:
                dupes.append(t)
            seen.add(t)
        raise ArgumentError("vocabulary", f"{where} repeats token(s) {dupes[:5]}; each token must appear once.")
    return tokens


def write_vocabulary(vocabulary, path) -> Path:
    """Write one token per line (UTF-8); returns the path."""
    path = Path(path)
    path.write_text("".join(f"{token}\n" for token in vocabulary), encoding="utf-8")
    return path
