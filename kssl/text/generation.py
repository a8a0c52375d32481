"""Text generation from a trained causal language model: a prompt continued token by token."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from kssl.errors import KsslError
from kssl.finished_run import check_run_dir
from kssl.text.sampling import check_temperature, check_top_k, sample_token


def prompt_ids(model, prompt: str) -> list[int]:
    """``[CLS]`` and the prompt's token ids (the model's own tokenizer, through tf.data: every backend).

    Raises :class:`KsslError` for an empty prompt, one made only of unknown tokens, or one
    that fills the model's whole context (no room to generate).
    """
    if not isinstance(prompt, str) or not prompt.strip():
        raise KsslError(f'PROMPT: expected some text to continue, e.g. "return the", got {prompt!r}.')
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensors(prompt).map(model.tokenizer)
    ids = [int(t) for t in next(ds.as_numpy_iterator())]
    unknown = int(model.tokenizer.token_to_id("[UNK]"))
    if not ids:
        raise KsslError(f"PROMPT: {prompt!r} holds no token the model knows (nothing left after tokenisation).")
    if all(i == unknown for i in ids):
        raise KsslError(
            f"PROMPT: every token of {prompt!r} is unknown to the model's vocabulary ([UNK]); use words of its training text "
            "(the vocabulary is vocabulary.txt in the run directory)."
        )
    ids = [model.start_token_id, *ids]
    if len(ids) > model.sequence_length:
        raise KsslError(
            f"PROMPT: {len(ids)} tokens with [CLS], longer than the model's context of {model.sequence_length} tokens; "
            f"shorten it to at most {model.sequence_length - 1} tokens."
        )
    return ids


def detokenize(model, ids) -> str:
    """Text of token ids: word pieces joined (``##`` continuations glued on), special tokens dropped except ``[UNK]``."""
    vocabulary = model.vocabulary
    skip = {"[PAD]", "[CLS]", "[SEP]", "[MASK]"}
    words: list[str] = []
    for i in ids:
        token = vocabulary[int(i)]
        if token in skip:
            continue
        if token.startswith("##") and words:
            words[-1] += token[2:]
        else:
            words.append(token)
    return " ".join(words)


def generate(model, prompt: str, max_tokens: int = 40, temperature: float = 1.0, top_k=None, seed: int | None = None) -> dict:
    """Continue ``prompt`` with up to ``max_tokens`` tokens sampled from ``model`` (a ``CausalLanguageModel``).

    Each step runs the model on the tokens so far (padded to its context, one traced shape),
    masks ``[PAD]``, ``[CLS]`` and ``[MASK]`` and draws the next token with
    :func:`kssl.text.sampling.sample_token` (``temperature``, ``top_k``; ``top_k=1`` is greedy),
    seeded by ``seed``. Generation stops at ``[SEP]`` (the end of a text), after
    ``max_tokens``, or when the context is full. Returns ``{"prompt", "continuation",
    "text", "token_ids", "stopped"}`` (``stopped``: ``end``, ``max_tokens`` or ``context``).
    """
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, (int, np.integer)) or max_tokens < 1:
        raise KsslError(f"--max-tokens: expected a whole number of at least 1, got {max_tokens!r}.")
    temperature = check_temperature(temperature)
    top_k = check_top_k(top_k)
    ids = prompt_ids(model, prompt)
    start = len(ids)
    length = model.sequence_length
    excluded = np.asarray(model.never_predicted_ids)
    rng = np.random.default_rng(seed)
    stopped = "max_tokens"
    import keras

    for _ in range(int(max_tokens)):
        if len(ids) > length:
            stopped = "context"
            break
        token_ids = np.zeros((1, length), dtype="int32")
        token_ids[0, : len(ids)] = ids
        padding_mask = np.zeros((1, length), dtype=bool)
        padding_mask[0, : len(ids)] = True
        logits = model.predict_on_batch({"token_ids": token_ids, "padding_mask": padding_mask})
        row = np.asarray(keras.ops.convert_to_numpy(logits), dtype=np.float64)[0, len(ids) - 1]
        row[excluded] = -np.inf
        token = sample_token(row, temperature, top_k, rng)
        ids.append(token)
        if token == model.end_token_id:
            stopped = "end"
            break
    continuation = detokenize(model, ids[start:])
    return {
        "prompt": detokenize(model, ids[:start]),
        "continuation": continuation,
        "text": detokenize(model, ids),
        "token_ids": ids,
        "stopped": stopped,
    }


CAUSAL_LM = "kssl.pretext.causal_lm:CausalLanguageModel"  # the built-in's lazy registry reference


def _not_causal(run_dir, name) -> KsslError:
    return KsslError(
        f"{str(run_dir)!r} is a {name!r} run (recipe.yaml: pretext.type: {name}), not a causal-LM run: generate needs "
        "the run directory of a causal_lm recipe, e.g. one `kssl train causal_lm` printed."
    )


def check_recipe_names_a_causal_lm(run_dir, recipe: dict) -> None:
    """Before any model loads: refuse a run whose pretext is another task (masked_lm, simclr, ...).

    A built-in task not yet imported is told by its registry reference, without Keras; a
    plugin's task not yet imported is checked by :func:`load_causal_lm` once it is.
    """
    from kssl.plugins import get_registry  # the plugin manager (pluggy, entry points) only when asked

    pretext = recipe.get("pretext") if isinstance(recipe, dict) else None
    name = pretext.get("type") if isinstance(pretext, dict) else None
    if not isinstance(name, str):
        raise _not_causal(run_dir, name)
    entry = get_registry(import_components=False).entry("pretext", name)
    if entry.lazy:  # a reference: kssl's own are told apart by name, a plugin's waits for its import
        if entry.provider == "kssl" and entry.target != CAUSAL_LM:
            raise _not_causal(run_dir, name)
        return
    from kssl.pretext.causal_lm import CausalLanguageModel  # the registry already imported the task, and Keras with it

    if not (isinstance(entry.target, type) and issubclass(entry.target, CausalLanguageModel)):
        raise _not_causal(run_dir, name)


def check_causal_lm_run(run_dir) -> Path:
    """Refuse, before any model is loaded, a run whose recipe.yaml names a pretext task other than ``causal_lm``'s class."""
    from kssl.plugins import get_registry  # the plugin manager (pluggy, entry points) only when asked
    from kssl.pretext.causal_lm import CausalLanguageModel  # Keras: imported by the command once the backend is chosen

    run_dir = check_run_dir(run_dir, then="generate")
    recipe = yaml.safe_load((run_dir / "recipe.yaml").read_text(encoding="utf-8"))
    pretext = recipe.get("pretext") if isinstance(recipe, dict) else None
    name = pretext.get("type") if isinstance(pretext, dict) else None
    factory = get_registry().get("pretext", name) if isinstance(name, str) else None
    if not (isinstance(factory, type) and issubclass(factory, CausalLanguageModel)):
        raise _not_causal(run_dir, name)
    return run_dir


def load_causal_lm(run_dir):
    """The trained ``CausalLanguageModel`` of a ``kssl train`` run directory of a causal-LM recipe (checked first)."""
    import keras
    import keras_hub  # noqa: F401  registers GPT2Backbone

    from kssl.pretext.causal_lm import CausalLanguageModel

    run_dir = check_causal_lm_run(run_dir)
    model = keras.models.load_model(run_dir / "model.keras")
    if not isinstance(model, CausalLanguageModel):
        raise KsslError(f"{str(run_dir)!r} holds a {type(model).__name__} model; generate needs a causal-LM run (pretext causal_lm).")
    return model
