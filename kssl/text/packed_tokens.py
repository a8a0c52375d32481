"""Texts -> packed WordPiece token ids (``[CLS] tokens [SEP]`` padded), and the checks on prompts to embed."""

from __future__ import annotations

import numpy as np

from kssl.errors import KsslError

NOT_WORDS = ("[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]")


def pack_texts(tokenizer, packer, texts, sequence_length: int, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Token ids (N, ``sequence_length``) int32 of a list of strings, and each text's token count before packing.

    ``tokenizer`` is a keras-hub tokenizer (e.g. ``BertTokenizer``), ``packer`` a keras-hub
    ``StartEndPacker``; both run data-side in ``tf.data`` (on every backend). Texts longer than
    ``sequence_length - 2`` tokens are cut by the packer (the counts tell which).
    """
    import tensorflow as tf

    def pack(batch):
        tokens = tokenizer(batch)
        return packer(tokens), tokens.row_lengths()

    ds = tf.data.Dataset.from_tensor_slices(np.asarray(texts, dtype=str)).batch(batch_size).map(pack)
    parts = list(ds.as_numpy_iterator())
    if not parts:
        return np.zeros((0, sequence_length), "int32"), np.zeros(0, "int64")
    return np.concatenate([np.asarray(p[0], "int32") for p in parts]), np.concatenate([p[1] for p in parts])


def check_prompts(texts) -> list[str]:
    """``texts`` as a list of non-empty strings; :class:`KsslError` (``texts: ...``) otherwise."""
    if isinstance(texts, str) or not isinstance(texts, (list, tuple, np.ndarray)):
        raise KsslError(f"texts: expected a list of strings, got {type(texts).__name__}.")
    for text in texts:
        if not isinstance(text, str) or not text.strip():
            raise KsslError(f"texts: {text!r} is empty or not text; give each prompt as a non-empty string.")
    return [str(t) for t in texts]


def check_packed(texts: list[str], ids: np.ndarray, lengths: np.ndarray, vocabulary: list[str], sequence_length: int) -> None:
    """Refuse a text whose tokens are all unknown (nothing to embed) or that the packing would cut (a different text)."""
    words = [i for i, t in enumerate(vocabulary) if t not in NOT_WORDS]
    for text, row, length in zip(texts, ids, lengths):
        if not np.isin(row, words).any():
            examples = ", ".join([t for t in vocabulary if t not in NOT_WORDS and t.isalpha()][:8])
            raise KsslError(
                f"texts: unknown token-only prompt {text!r}: none of its words is in the model's vocabulary of "
                f"{len(vocabulary)} tokens (e.g. {examples}); rephrase it with words the captions used."
            )
        if length > sequence_length - 2:
            raise KsslError(
                f"texts: {text!r} has {int(length)} tokens, more than the {sequence_length - 2} the model reads "
                f"(sequence_length {sequence_length} with [CLS] and [SEP]); shorten it."
            )
