"""NT-Xent against an independent numpy implementation and closed forms."""

import math

import keras
import numpy as np
import pytest

from kssl.losses import NTXentLoss, nt_xent


def numpy_nt_xent(z1, z2, t):
    """Independent reference: loop over anchors, explicit softmax over 2N-1 candidates."""
    z = np.concatenate([z1, z2]).astype(np.float64)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    n = len(z1)
    losses = []
    for i in range(2 * n):
        pos = (i + n) % (2 * n)
        sims = {j: z[i] @ z[j] / t for j in range(2 * n) if j != i}
        denom = sum(math.exp(s) for s in sims.values())
        losses.append(-math.log(math.exp(sims[pos]) / denom))
    return np.array(losses)


@pytest.mark.parametrize("n,d,t", [(4, 8, 0.1), (7, 3, 0.5), (16, 32, 1.0)])
def test_nt_xent_matches_numpy_reference(n, d, t):
    rng = np.random.default_rng(n)
    z1, z2 = rng.normal(size=(n, d)).astype("float32"), rng.normal(size=(n, d)).astype("float32")
    got = keras.ops.convert_to_numpy(nt_xent(z1, z2, t))
    np.testing.assert_allclose(got, numpy_nt_xent(z1, z2, t), rtol=1e-4, atol=1e-4)
    mean = float(keras.ops.convert_to_numpy(NTXentLoss(t)(z1, z2)))
    assert mean == pytest.approx(numpy_nt_xent(z1, z2, t).mean(), rel=1e-4)


def test_all_embeddings_identical_gives_log_2n_minus_1():
    # Every candidate is equally similar: loss = -log(1 / (2N - 1)).
    n = 5
    z = np.ones((n, 4), "float32")
    got = float(keras.ops.convert_to_numpy(NTXentLoss(0.3)(z, z)))
    assert got == pytest.approx(math.log(2 * n - 1), rel=1e-5)


def test_identical_views_of_orthogonal_samples_closed_form():
    # z1 == z2 and samples orthogonal: positive similarity 1/t, 2N-2 negatives at 0.
    n, t = 4, 0.2
    z = np.eye(n, 6, dtype="float32")
    got = float(keras.ops.convert_to_numpy(NTXentLoss(t)(z, z)))
    expected = -math.log(math.exp(1 / t) / (math.exp(1 / t) + 2 * n - 2))
    assert got == pytest.approx(expected, rel=1e-5)


def test_loss_is_invariant_to_scale_and_gradient_flows():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    z1 = tf.Variable(rng.normal(size=(6, 5)).astype("float32"))
    z2 = rng.normal(size=(6, 5)).astype("float32")
    with tf.GradientTape() as tape:
        loss = NTXentLoss(0.5)(z1, z2)
    grad = tape.gradient(loss, z1).numpy()
    assert np.isfinite(grad).all() and np.abs(grad).sum() > 0
    scaled = float(NTXentLoss(0.5)(z1 * 3.0, z2 * 0.5))
    assert scaled == pytest.approx(float(loss), rel=1e-5)


def test_loss_class_round_trips():
    loss = NTXentLoss(0.25)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(again, NTXentLoss) and again.temperature == 0.25


def test_simclr_contrastive_accuracy_matches_numpy():
    from kssl.pretext.simclr import SimCLR

    rng = np.random.default_rng(3)
    z1 = rng.normal(size=(6, 4)).astype("float32")
    z2 = (z1 + rng.normal(scale=0.8, size=z1.shape)).astype("float32")
    encoder = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4)])
    model = SimCLR(encoder, keras.layers.Identity(), projection_dim=4, projection_hidden_dims=[])
    loss = model.compute_loss(y_pred=np.stack([z1, z2]))
    assert float(loss) == pytest.approx(float(np.mean(numpy_nt_xent(z1, z2, model.temperature))), rel=1e-5)  # same logits
    # numpy: for each anchor z1[i], is z2[i] the most cosine-similar among z2[*] and z1[j != i]?
    a = z1 / np.linalg.norm(z1, axis=1, keepdims=True)
    b = z2 / np.linalg.norm(z2, axis=1, keepdims=True)
    same = a @ a.T
    np.fill_diagonal(same, -np.inf)
    expected = np.mean(np.argmax(np.concatenate([a @ b.T, same], axis=1), axis=1) == np.arange(6))
    assert 0.0 < expected < 1.0  # a case where some anchors miss
    assert float(model.contrastive_accuracy.result()) == pytest.approx(expected)
