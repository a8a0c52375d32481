"""Held-out masked-token accuracy and perplexity of a masked language model, next to a unigram baseline."""

from __future__ import annotations

import math

import numpy as np

from kssl.checks import check_int, check_number
from kssl.errors import KsslError
from kssl.eval.evaluator import Evaluator
from kssl.pretext.masked_lm import MaskedLanguageModel, pad_batch


def select_positions(eligible, rate: float, seed: int = 0):
    """Deterministic masked positions: ``ceil(rate * n)`` of each row's ``n`` eligible positions.

    Returns ``(positions, weights)`` of shape (N, M), M the largest count; rows with
    fewer selections are padded with position 0 and weight 0. Uses ``numpy``'s
    generator seeded with ``seed``, so every call (and every model) sees the same masks.
    """
    rng = np.random.default_rng(seed)
    chosen = []
    for row in np.asarray(eligible, dtype=bool):
        candidates = np.flatnonzero(row)
        k = min(len(candidates), math.ceil(len(candidates) * rate))
        chosen.append(np.sort(rng.choice(candidates, size=k, replace=False)) if k else np.zeros(0, dtype=int))
    width = max(1, max(len(c) for c in chosen))
    positions = np.zeros((len(chosen), width), dtype="int32")
    weights = np.zeros((len(chosen), width), dtype="float32")
    for i, c in enumerate(chosen):
        positions[i, : len(c)] = c
        weights[i, : len(c)] = 1.0
    return positions, weights


def check_masked_lm(model, needs: str, fix: str) -> None:
    """Raise :class:`kssl.KsslError` (``needs``, the model's class, ``fix``) unless ``model`` is a masked language model."""
    if not isinstance(model, MaskedLanguageModel):
        raise KsslError(f"{needs}, got {type(model).__name__}. {fix}")


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class MaskedLMEvaluator(Evaluator):
    """Masked-token accuracy and perplexity on the held-out texts, and what a unigram model scores.

    ``ceil(mask_rate * n)`` of the ``n`` non-special tokens of every test text are
    replaced by ``[MASK]`` (always the mask token, no random or kept tokens; the
    same positions for every model, from ``seed``) and predicted by the model.
    ``masked_lm_accuracy`` is the fraction predicted exactly (top-1),
    ``masked_lm_perplexity`` is ``exp`` of the mean cross-entropy there. The unigram
    baseline knows only the training split's token frequencies: it always predicts
    the most frequent token (``masked_lm_unigram_accuracy``) and scores each token
    by its add-one smoothed frequency (``masked_lm_unigram_perplexity``).

    Works with a ``masked_lm`` pretext model; needs no labels.

    Args:
        mask_rate: fraction of tokens to mask (default: the model's own ``mask_rate``).
        seed: seed of the masked positions.
        batch_size: texts per prediction batch.
    """

    name = "masked_lm"
    requires_labels = False

    def __init__(self, mask_rate: float | None = None, seed: int = 0, batch_size: int = 64):
        self.mask_rate = None if mask_rate is None else check_number("mask_rate", mask_rate, low=0.0, high=1.0, low_inclusive=False)
        self.seed = check_int("seed", seed, low=0)
        self.batch_size = check_int("batch_size", batch_size, low=1)

    def get_config(self) -> dict:
        return {"mask_rate": self.mask_rate, "seed": self.seed, "batch_size": self.batch_size}

    def check_model(self, model) -> None:
        """Raise :class:`kssl.KsslError` unless ``model`` is a ``masked_lm`` pretext model."""
        check_masked_lm(
            model,
            "evaluator 'masked_lm' scores a masked language model (pretext masked_lm)",
            "Remove it from `eval` or use `pretext: {type: masked_lm}`.",
        )

    def evaluate(self, model, data, features=None) -> dict:
        """Masked-token scores on the test texts (``features`` is unused: the model predicts tokens)."""
        self.check_model(model)
        if data.x_test is None or len(data.x_test) == 0:
            raise KsslError("evaluator 'masked_lm' needs held-out texts (a test split); set data.test_fraction above 0 or use more text.")
        rate = self.mask_rate if self.mask_rate is not None else float(model.mask_rate)
        special = np.asarray(model.special_token_ids)
        test = model.tokenize(data.x_test, self.batch_size)
        eligible = test["padding_mask"].astype(bool) & ~np.isin(test["token_ids"], special)
        positions, weights = select_positions(eligible, rate, self.seed)
        labels = np.take_along_axis(test["token_ids"], positions, axis=1)
        masked = test["token_ids"].copy()
        rows = np.repeat(np.arange(len(masked))[:, None], positions.shape[1], axis=1)
        masked[rows[weights > 0], positions[weights > 0]] = model.mask_token_id

        nll, hits = [], []
        for s in range(0, len(masked), self.batch_size):
            batch = {
                "token_ids": masked[s : s + self.batch_size],
                "segment_ids": test["segment_ids"][s : s + self.batch_size],
                "padding_mask": test["padding_mask"][s : s + self.batch_size],
                "mask_positions": positions[s : s + self.batch_size],
            }
            log_p = _log_softmax(np.asarray(model.predict_on_batch(pad_batch(batch, self.batch_size)))[: len(batch["token_ids"])])
            y, w = labels[s : s + self.batch_size], weights[s : s + self.batch_size] > 0
            nll.append(-np.take_along_axis(log_p, y[..., None], axis=-1)[..., 0][w])
            hits.append((log_p.argmax(axis=-1) == y)[w])
        nll, hits = np.concatenate(nll), np.concatenate(hits)
        targets = labels[weights > 0]
        if len(targets) == 0:
            raise KsslError("evaluator 'masked_lm': the test texts hold no token to mask (all empty after tokenisation).")

        train = model.tokenize(data.x_train, self.batch_size)
        train_tokens = train["token_ids"][train["padding_mask"].astype(bool) & ~np.isin(train["token_ids"], special)]
        vocabulary_size = len(model.vocabulary)
        counts = np.bincount(train_tokens, minlength=vocabulary_size).astype(np.float64)
        counts[special] = 0.0
        smoothed = counts + 1.0
        smoothed[special] = 0.0
        probabilities = smoothed / smoothed.sum()
        most_frequent = int(np.argmax(counts))
        return {
            "masked_lm_accuracy": float(hits.mean()),
            "masked_lm_perplexity": float(math.exp(nll.mean())),
            "masked_lm_unigram_accuracy": float(np.mean(targets == most_frequent)),
            "masked_lm_unigram_perplexity": float(math.exp(-np.log(probabilities[targets]).mean())),
            "masked_lm_masked_tokens": float(len(targets)),
        }
