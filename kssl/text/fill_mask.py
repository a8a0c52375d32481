"""Fill-mask: the most likely tokens for each ``[MASK]`` in a text, from a trained masked-LM model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kssl.errors import KsslError

MASK = "[MASK]"


def encode_with_masks(model, text: str) -> tuple[np.ndarray, np.ndarray]:
    """``(token_ids, mask_positions)`` for ``text``, with ``[CLS]``/``[SEP]`` and each literal ``[MASK]`` as the mask token.

    The text around the masks is tokenised by the model's own tokenizer (so
    lowercasing never turns ``[MASK]`` into a word). Raises :class:`KsslError` when
    the text has no ``[MASK]`` or does not fit in the model's sequence length.
    """
    if not isinstance(text, str) or MASK not in text:
        raise KsslError(f'the text must contain at least one {MASK}, e.g. "the {MASK} of the file"; got {text!r}.')
    pieces = text.split(MASK)
    tokenizer = model.tokenizer
    ids = [int(tokenizer.cls_token_id)]
    positions = []
    for i, piece in enumerate(pieces):
        if piece.strip():
            ids.extend(_piece_ids(model, piece))
        if i < len(pieces) - 1:
            positions.append(len(ids))
            ids.append(model.mask_token_id)
    ids.append(int(tokenizer.sep_token_id))
    if len(ids) > model.sequence_length:
        raise KsslError(f"the text is {len(ids)} tokens long with [CLS] and [SEP], but the model reads at most {model.sequence_length}; shorten it.")
    return np.asarray(ids, dtype="int32"), np.asarray(positions, dtype="int32")


def _piece_ids(model, piece: str) -> list[int]:
    """Token ids of one piece of text, unpacked and untruncated (through tf.data: works on every backend)."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensors(piece).map(model.tokenizer)
    return [int(t) for t in next(ds.as_numpy_iterator())]


def fill_mask(model, text: str, top_k: int = 5) -> list[list[tuple[str, float]]]:
    """For each ``[MASK]`` in ``text`` (left to right), the ``top_k`` ``(token, probability)`` pairs, most likely first.

    All masks are predicted at once (each sees the others as ``[MASK]``).
    Word-piece continuations are shown with their ``##`` prefix.
    """
    if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
        raise KsslError(f"--top-k: expected a positive whole number, got {top_k!r}.")
    ids, positions = encode_with_masks(model, text)
    length = model.sequence_length
    token_ids = np.full((1, length), model.tokenizer.pad_token_id, dtype="int32")
    token_ids[0, : len(ids)] = ids
    padding_mask = np.zeros((1, length), dtype=bool)
    padding_mask[0, : len(ids)] = True
    inputs = {
        "token_ids": token_ids,
        "segment_ids": np.zeros((1, length), dtype="int32"),
        "padding_mask": padding_mask,
        "mask_positions": positions[None, :],
    }
    logits = np.asarray(model.predict_on_batch(inputs), dtype=np.float64)[0]  # (masks, vocabulary)
    logits[:, model.special_token_ids] = -np.inf  # a filled mask is a word piece, never [PAD] or [CLS]
    probabilities = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probabilities /= probabilities.sum(axis=-1, keepdims=True)
    vocabulary = model.vocabulary
    k = min(top_k, len(vocabulary))
    results = []
    for row in probabilities:
        best = np.argsort(-row, kind="stable")[:k]
        results.append([(vocabulary[i], float(row[i])) for i in best])
    return results


def _check_recipe_pretext(run_dir: Path, masked_lm_class) -> None:
    """Refuse a run whose recipe.yaml names a pretext task that is not a masked LM, before any model is loaded."""
    import yaml

    from kssl.plugins import get_registry

    try:
        recipe = yaml.safe_load((run_dir / "recipe.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return  # no readable recipe: the model file decides below
    pretext = recipe.get("pretext") if isinstance(recipe, dict) else None
    name = pretext.get("type") if isinstance(pretext, dict) else None
    if not isinstance(name, str):
        return
    try:
        factory = get_registry().get("pretext", name)
    except KsslError:
        return  # a plugin that is not installed here: the model file decides below
    if isinstance(factory, type) and not issubclass(factory, masked_lm_class):
        raise KsslError(
            f"{str(run_dir)!r} is a {name!r} run (recipe.yaml: pretext.type: {name}), not a masked-LM run: fill-mask needs "
            "the run directory of a masked_lm recipe, e.g. one `kssl train bert_mlm` printed."
        )


def load_masked_lm(run_dir):
    """The trained model of a ``kssl train`` run directory of a masked-LM recipe.

    The run's recipe.yaml is read first: a run of another pretext task (SimCLR, ...) is
    refused with a :class:`KsslError` before its model is loaded.
    """
    import keras

    from kssl.pretext.masked_lm import MaskedLanguageModel

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise KsslError(f"{str(run_dir)!r}: no such run directory. Give the folder `kssl train` printed.")
    _check_recipe_pretext(run_dir, MaskedLanguageModel)
    path = run_dir / "model.keras"
    if not path.is_file():
        raise KsslError(f"{str(run_dir)!r} has no model.keras: the run did not finish, or this is not a run directory.")
    import keras_hub  # noqa: F401  registers the BERT classes

    model = keras.models.load_model(path)
    if not isinstance(model, MaskedLanguageModel):
        raise KsslError(f"{str(run_dir)!r} holds a {type(model).__name__} model; fill-mask needs a masked-LM run (pretext masked_lm).")
    return model


def format_predictions(results) -> str:
    """One line per mask: ``[MASK] 1: token (0.312)  token (0.104) ...``."""
    lines = []
    for i, row in enumerate(results, 1):
        lines.append(f"{MASK} {i}: " + "  ".join(f"{token} ({p:.3f})" for token, p in row))
    return "\n".join(lines)
