"""Temperature and top-k sampling of the next token (numpy only)."""

import math

import numpy as np
import pytest

from kssl.errors import ArgumentError
from kssl.text.sampling import sample_token, sampling_probabilities

LOGITS = np.array([1.0, 3.0, -0.5, 2.5, 0.0])


def softmax(x):
    e = np.exp(x - np.max(x))
    return e / e.sum()


def test_top_k_one_is_greedy_at_any_temperature():
    rng = np.random.default_rng(0)
    for temperature in (0.1, 1.0, 5.0):
        draws = {sample_token(LOGITS, temperature, top_k=1, rng=rng) for _ in range(50)}
        assert draws == {int(np.argmax(LOGITS))}


def test_temperature_towards_zero_is_greedy():
    rng = np.random.default_rng(0)
    np.testing.assert_allclose(sampling_probabilities(LOGITS, 1e-6), np.eye(5)[1])
    assert {sample_token(LOGITS, 1e-3, rng=rng) for _ in range(200)} == {1}


def test_samples_follow_the_softmax_of_the_logits():
    rng = np.random.default_rng(0)
    n = 10000
    counts = np.bincount([sample_token(LOGITS, 1.0, rng=rng) for _ in range(n)], minlength=5)
    expected = softmax(LOGITS) * n
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 18.5  # chi-square, 4 degrees of freedom: p = 0.001


def test_temperature_scales_the_logits_and_top_k_renormalises():
    np.testing.assert_allclose(sampling_probabilities(LOGITS, 2.0), softmax(LOGITS / 2.0))
    p = sampling_probabilities(LOGITS, 1.0, top_k=2)
    expected = np.zeros(5)
    expected[[1, 3]] = softmax(LOGITS[[1, 3]])
    np.testing.assert_allclose(p, expected)
    np.testing.assert_allclose(sampling_probabilities(LOGITS, 1.0, top_k=99), softmax(LOGITS))


def test_excluded_tokens_are_never_drawn():
    logits = LOGITS.copy()
    logits[1] = -np.inf
    rng = np.random.default_rng(1)
    assert 1 not in {sample_token(logits, 1.0, rng=rng) for _ in range(500)}
    assert sampling_probabilities(logits, 1.0)[1] == 0.0


def test_the_same_seed_draws_the_same_tokens():
    def draws(seed):
        rng = np.random.default_rng(seed)
        return [sample_token(LOGITS, 1.0, rng=rng) for _ in range(20)]

    assert draws(7) == draws(7) and draws(7) != draws(8)


@pytest.mark.parametrize("temperature", [0.0, -1.0, math.nan, math.inf, "hot", True])
def test_bad_temperatures_are_refused(temperature):
    with pytest.raises(ArgumentError, match="temperature"):
        sampling_probabilities(LOGITS, temperature)


@pytest.mark.parametrize("top_k", [0, -3, 1.5, True])
def test_bad_top_k_are_refused(top_k):
    with pytest.raises(ArgumentError, match="top_k"):
        sampling_probabilities(LOGITS, 1.0, top_k=top_k)


def test_bad_logits_are_refused():
    for logits in ([], [[1.0, 2.0]], [1.0, math.nan], [-math.inf, -math.inf]):
        with pytest.raises(ArgumentError, match="logits"):
            sampling_probabilities(logits)
