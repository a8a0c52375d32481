"""Held-out perplexity of a causal language model, next to a unigram and a Kneser-Ney bigram baseline."""

from __future__ import annotations

import numpy as np

from kssl.checks import check_int, check_number
from kssl.errors import KsslError
from kssl.eval.evaluator import Evaluator
from kssl.pretext.causal_lm import CausalLanguageModel
from kssl.text.ngram import kneser_ney_bigram_log_probs, perplexity, unigram_log_probs


def check_causal_lm(model, needs: str, fix: str) -> None:
    """Raise :class:`kssl.KsslError` (``needs``, the model's class, ``fix``) unless ``model`` is a causal language model."""
    if not isinstance(model, CausalLanguageModel):
        raise KsslError(f"{needs}, got {type(model).__name__}. {fix}")


def next_token_pairs(packed: dict) -> np.ndarray:
    """(context, target) id pairs of every real next-token target of :meth:`CausalLanguageModel.tokenize`'s output, row by row."""
    ids, mask = packed["token_ids"], packed["padding_mask"].astype(bool)
    weights = mask[:, 1:]
    return np.stack([ids[:, :-1][weights], ids[:, 1:][weights]], axis=1).astype(np.int64)


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class PerplexityEvaluator(Evaluator):
    """Next-token perplexity on the held-out texts, and what count-based models score on the same tokens.

    Every test text is packed as in training (``[CLS] tokens [SEP]``, truncated to the
    model's context) and each real next token, ``[SEP]`` included, is scored. Metrics:

    - ``perplexity``: ``exp`` of the model's mean next-token cross-entropy;
    - ``next_token_accuracy``: how often its most likely next token is the right one;
    - ``unigram_perplexity``: an add-``k`` unigram of the training split's tokens;
    - ``bigram_perplexity``: an interpolated Kneser-Ney bigram (discount ``discount``)
      fitted on the training split, with the same tokenisation;
    - ``perplexity_tokens``: how many tokens were scored.

    The baselines give ``[PAD]``, ``[CLS]`` and ``[MASK]`` no probability (they never
    follow a token); the model's softmax covers the whole vocabulary. Needs no labels.

    Args:
        k: add-k smoothing of the unigram (1: Laplace).
        discount: the Kneser-Ney discount, in (0, 1].
        batch_size: texts per prediction batch.
    """

    name = "perplexity"
    requires_labels = False

    def __init__(self, k: float = 1.0, discount: float = 0.75, batch_size: int = 64):
        self.k = check_number("k", k, low=0.0, low_inclusive=False)
        self.discount = check_number("discount", discount, low=0.0, high=1.0, low_inclusive=False)
        self.batch_size = check_int("batch_size", batch_size, low=1)

    def get_config(self) -> dict:
        return {"k": self.k, "discount": self.discount, "batch_size": self.batch_size}

    def check_model(self, model) -> None:
        """Raise :class:`kssl.KsslError` unless ``model`` is a ``causal_lm`` pretext model."""
        check_causal_lm(
            model,
            "evaluator 'perplexity' scores a causal language model (pretext causal_lm)",
            "Remove it from `eval` or use `pretext: {type: causal_lm}` (masked models: evaluator masked_lm).",
        )

    def evaluate(self, model, data, features=None) -> dict:
        """Perplexities on the test texts (``features`` is unused: the model predicts tokens)."""
        self.check_model(model)
        if data.x_test is None or len(data.x_test) == 0:
            raise KsslError("evaluator 'perplexity' needs held-out texts (a test split); set data.test_fraction above 0 or use more text.")
        test = model.tokenize(data.x_test, self.batch_size)
        weights = test["padding_mask"][:, 1:].astype(bool)
        if not weights.any():
            raise KsslError("evaluator 'perplexity': the test texts hold no token to predict.")
        nll, hits = [], []
        for rows, logits in model.next_token_logits(test, self.batch_size):
            log_p = _log_softmax(logits)
            labels, w = test["token_ids"][rows, 1:], weights[rows]
            nll.append(-np.take_along_axis(log_p, labels[..., None], axis=-1)[..., 0][w])
            hits.append((log_p.argmax(axis=-1) == labels)[w])
        nll, hits = np.concatenate(nll), np.concatenate(hits)

        size = len(model.vocabulary)
        support = np.ones(size, dtype=bool)
        support[model.never_predicted_ids] = False
        train_pairs = next_token_pairs(model.tokenize(data.x_train, self.batch_size))
        test_pairs = next_token_pairs(test)
        unigram = unigram_log_probs(train_pairs[:, 1], test_pairs[:, 1], size, k=self.k, support=support)
        bigram = kneser_ney_bigram_log_probs(train_pairs, test_pairs, size, discount=self.discount, support=support)
        return {
            "perplexity": float(np.exp(nll.mean())),
            "next_token_accuracy": float(hits.mean()),
            "unigram_perplexity": perplexity(unigram),
            "bigram_perplexity": perplexity(bigram),
            "perplexity_tokens": float(len(nll)),
        }
