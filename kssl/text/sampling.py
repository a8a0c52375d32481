"""Choosing the next token from a language model's logits: temperature and top-k sampling, in numpy."""

from __future__ import annotations

import math

import numpy as np

from kssl.errors import ArgumentError


def check_temperature(temperature) -> float:
    """A finite temperature above 0 as a float, or :class:`ArgumentError` naming ``temperature``."""
    try:
        value = float(temperature)
    except (TypeError, ValueError):
        raise ArgumentError("temperature", f"expected a positive number, got {temperature!r}.") from None
    if isinstance(temperature, bool) or not math.isfinite(value) or value <= 0:
        raise ArgumentError("temperature", f"expected a finite number above 0 (1: the model's own distribution; near 0: greedy), got {temperature!r}.")
    return value


def check_top_k(top_k):
    """None (the whole vocabulary) or an int of at least 1, or :class:`ArgumentError` naming ``top_k``."""
    if top_k is None:
        return None
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ArgumentError("top_k", f"expected a whole number of at least 1 (1: greedy), or none for the whole vocabulary, got {top_k!r}.")
    return int(top_k)


def sampling_probabilities(logits, temperature: float = 1.0, top_k=None) -> np.ndarray:
    """The distribution a token is drawn from: ``softmax(logits / temperature)`` over the ``top_k`` largest logits.

    ``logits`` is a 1-D vector; entries of ``-inf`` (excluded tokens) get probability 0. Ties
    at the k-th largest logit are kept in vocabulary order. As ``temperature`` goes to 0
    the distribution becomes one-hot on the largest logit (greedy decoding); ``top_k=1``
    is greedy at any temperature.
    """
    temperature = check_temperature(temperature)
    top_k = check_top_k(top_k)
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 1 or len(logits) == 0 or np.isnan(logits).any() or not np.isfinite(logits).any():
        raise ArgumentError("logits", f"expected a 1-D vector of logits with a finite maximum and no NaN, got shape {logits.shape}.")
    scaled = logits / temperature
    if top_k is not None and top_k < len(scaled):
        keep = np.argsort(-scaled, kind="stable")[:top_k]
        masked = np.full_like(scaled, -np.inf)
        masked[keep] = scaled[keep]
        scaled = masked
    shifted = scaled - scaled.max()  # the largest logit becomes 0: exp never overflows
    weights = np.exp(shifted)
    return weights / weights.sum()


def sample_token(logits, temperature: float = 1.0, top_k=None, rng=None) -> int:
    """One token id drawn from :func:`sampling_probabilities` with ``rng`` (a ``numpy.random.Generator``)."""
    probabilities = sampling_probabilities(logits, temperature, top_k)
    rng = rng if rng is not None else np.random.default_rng()
    return int(rng.choice(len(probabilities), p=probabilities))
