"""Sinkhorn-Knopp codes of SwAV against the transport constraints and an independent numpy loop."""

import keras
import numpy as np
import pytest

from kssl.losses.sinkhorn import sinkhorn


def numpy_sinkhorn(scores, epsilon, iterations):
    """Reference: SwAV's algorithm 1 written on the (K, B) matrix, in float64."""
    q = np.exp(np.asarray(scores, np.float64) / epsilon).T  # K x B
    k, b = q.shape
    q /= q.sum()
    for _ in range(iterations):
        q /= q.sum(axis=1, keepdims=True)
        q /= k
        q /= q.sum(axis=0, keepdims=True)
        q /= b
    return (q * b).T


def _np(x):
    return keras.ops.convert_to_numpy(x)


@pytest.mark.parametrize("b,k,eps,iters", [(8, 4, 0.05, 3), (16, 5, 0.1, 10), (12, 12, 0.5, 1)])
def test_matches_numpy_reference(b, k, eps, iters):
    scores = np.random.default_rng(b + k).uniform(-1, 1, size=(b, k)).astype("float32")
    np.testing.assert_allclose(_np(sinkhorn(scores, eps, iters)), numpy_sinkhorn(scores, eps, iters), rtol=2e-4, atol=1e-6)


def test_output_is_doubly_stochastic_after_enough_iterations():
    b, k = 32, 8
    scores = np.random.default_rng(0).uniform(-1, 1, size=(b, k)).astype("float32")
    q = _np(sinkhorn(scores, epsilon=0.1, iterations=200))
    assert np.all(q >= 0)
    np.testing.assert_allclose(q.sum(axis=1), np.ones(b), atol=1e-5)  # each sample: one unit of mass
    np.testing.assert_allclose(q.sum(axis=0), np.full(k, b / k), rtol=1e-3)  # each prototype: B/K
    # Scaled by K/B it is a doubly stochastic matrix when B == K.
    sq = _np(sinkhorn(scores[:k], epsilon=0.1, iterations=200))
    np.testing.assert_allclose(sq.sum(axis=0), np.ones(k), atol=1e-3)
    np.testing.assert_allclose(sq.sum(axis=1), np.ones(k), atol=1e-5)


def test_rows_sum_to_one_after_any_number_of_iterations():
    scores = np.random.default_rng(1).normal(size=(10, 3)).astype("float32")
    for iters in (1, 3):
        np.testing.assert_allclose(_np(sinkhorn(scores, 0.05, iters)).sum(axis=1), np.ones(10), atol=1e-5)


def test_equal_partition_splits_a_collapsed_batch():
    # Every sample prefers prototype 0: the codes still spread the batch over all prototypes.
    scores = np.tile(np.array([[1.0, 0.0, 0.0, 0.0]], "float32"), (8, 1))
    scores += np.random.default_rng(2).normal(scale=1e-3, size=scores.shape).astype("float32")
    q = _np(sinkhorn(scores, 0.05, 100))
    np.testing.assert_allclose(q.sum(axis=0), np.full(4, 2.0), rtol=1e-3)


def test_stable_for_small_epsilon_and_invariant_to_a_constant_shift():
    scores = np.random.default_rng(3).uniform(-1, 1, size=(16, 6)).astype("float32")
    q = _np(sinkhorn(scores, epsilon=0.005, iterations=3))  # exp(200) would overflow without the shift
    assert np.all(np.isfinite(q))
    np.testing.assert_allclose(_np(sinkhorn(scores + 5.0, 0.1, 3)), _np(sinkhorn(scores, 0.1, 3)), rtol=1e-4, atol=1e-6)


def test_no_gradient_flows_through_the_codes():
    import tensorflow as tf

    s = tf.Variable(np.random.default_rng(4).normal(size=(6, 3)).astype("float32"))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(sinkhorn(s) * s)
    grad = tape.gradient(loss, s)
    np.testing.assert_allclose(grad.numpy(), _np(sinkhorn(s.numpy())), rtol=1e-5)  # d/ds of q*s with q constant
