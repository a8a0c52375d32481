"""Count-based baselines of a language model, in numpy: an add-k unigram and an interpolated Kneser-Ney bigram.

Both are fitted on token ids of a training split and return the log-probability of each
held-out target, so their perplexity, ``exp(-mean(log p))``, is comparable with a neural
model's on the same targets. ``support`` (a boolean mask over the vocabulary) lists the
tokens that can be a target at all; the others get probability 0 and may not be scored.
"""

from __future__ import annotations

import numpy as np

from kssl.checks import check_number
from kssl.errors import ArgumentError


def _support(support, size: int) -> np.ndarray:
    support = np.ones(size, dtype=bool) if support is None else np.asarray(support, dtype=bool)
    if support.shape != (size,) or not support.any():
        raise ArgumentError("support", f"expected a boolean mask of {size} tokens with at least one true, got shape {support.shape}.")
    return support


def _check_targets(targets, support: np.ndarray, where: str) -> np.ndarray:
    targets = np.asarray(targets, dtype=np.int64).reshape(-1)
    if len(targets) and (targets.min() < 0 or targets.max() >= len(support) or not support[targets].all()):
        raise ArgumentError(where, "holds a token id outside the vocabulary or outside the support (a token that is never a target).")
    return targets


def unigram_log_probs(train_targets, test_targets, size: int, k: float = 1.0, support=None) -> np.ndarray:
    """``log p(w)`` of each test target under the add-k unigram ``(c(w) + k) / (N + k |S|)``.

    ``c(w)`` counts ``w`` among the ``N`` training targets and ``S`` is the support (every
    token by default). ``k = 0`` is the maximum-likelihood unigram (a test token unseen in
    training then gets ``-inf``).
    """
    k = check_number("k", k, low=0.0)
    support = _support(support, size)
    train = _check_targets(train_targets, support, "train_targets")
    test = _check_targets(test_targets, support, "test_targets")
    counts = np.bincount(train, minlength=size).astype(np.float64)
    total = counts.sum() + k * support.sum()
    if total <= 0:
        raise ArgumentError("train_targets", "is empty: a unigram needs training tokens (or k > 0).")
    with np.errstate(divide="ignore"):
        return np.log((counts[test] + k) / total)


def kneser_ney_bigram_log_probs(train_pairs, test_pairs, size: int, discount: float = 0.75, support=None) -> np.ndarray:
    """``log P(w | v)`` of each test pair ``(v, w)`` under an interpolated Kneser-Ney bigram.

    Chen & Goodman, "An Empirical Study of Smoothing Techniques for Language Modeling"
    (1998), eq. 26 with one discount ``D``; the continuation unigram is itself interpolated
    with the uniform distribution over the support ``S``, so every ``w`` in ``S`` has
    probability above 0::

        P(w | v)   = max(c(v, w) - D, 0) / c(v) + D N1+(v .) / c(v) * P_cont(w)     (c(v) > 0)
                   = P_cont(w)                                                     (v never a context)
        P_cont(w)  = max(N1+(. w) - D, 0) / N1+(. .) + D |{w: N1+(. w) > 0}| / N1+(. .) / |S|

    ``c(v, w)`` counts the training pairs, ``c(v)`` the pairs with context ``v``,
    ``N1+(v .)`` the distinct words after ``v``, ``N1+(. w)`` the distinct contexts before
    ``w`` and ``N1+(. .)`` the distinct pairs. Pairs are (N, 2) arrays of (context, target)
    ids; contexts may be any token id, targets must lie in the support.
    """
    discount = check_number("discount", discount, low=0.0, high=1.0, low_inclusive=False)
    support = _support(support, size)
    train = np.asarray(train_pairs, dtype=np.int64).reshape(-1, 2)
    test = np.asarray(test_pairs, dtype=np.int64).reshape(-1, 2)
    if len(train) == 0:
        raise ArgumentError("train_pairs", "is empty: a bigram needs training pairs.")
    for name, pairs in (("train_pairs", train), ("test_pairs", test)):
        _check_targets(pairs[:, 1], support, name)
        if len(pairs) and (pairs[:, 0].min() < 0 or pairs[:, 0].max() >= size):
            raise ArgumentError(name, f"holds a context id outside the vocabulary of {size} tokens.")

    codes, pair_counts = np.unique(train[:, 0] * size + train[:, 1], return_counts=True)
    contexts, words = codes // size, codes % size
    context_counts = np.bincount(contexts, weights=pair_counts, minlength=size)  # c(v)
    followers = np.bincount(contexts, minlength=size).astype(np.float64)  # N1+(v .)
    continuations = np.bincount(words, minlength=size).astype(np.float64)  # N1+(. w)
    distinct = float(len(codes))  # N1+(. .)
    seen_words = float(np.count_nonzero(continuations))
    p_cont = np.maximum(continuations - discount, 0.0) / distinct + discount * seen_words / distinct / support.sum()
    p_cont = np.where(support, p_cont, 0.0)

    v, w = test[:, 0], test[:, 1]
    index = np.searchsorted(codes, v * size + w)
    index = np.minimum(index, len(codes) - 1)
    count = np.where(codes[index] == v * size + w, pair_counts[index], 0).astype(np.float64)
    c_v = context_counts[v]
    seen = c_v > 0
    safe = np.where(seen, c_v, 1.0)
    p = np.where(seen, np.maximum(count - discount, 0.0) / safe + discount * followers[v] / safe * p_cont[w], p_cont[w])
    return np.log(p)


def perplexity(log_probs) -> float:
    """``exp(-mean(log p))`` of per-token log-probabilities (natural log)."""
    log_probs = np.asarray(log_probs, dtype=np.float64)
    if log_probs.size == 0:
        raise ArgumentError("log_probs", "is empty: perplexity needs at least one scored token.")
    return float(np.exp(-log_probs.mean()))
