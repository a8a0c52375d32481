"""Barlow Twins: the loss against an independent numpy reference and closed forms, and the pretext task.

The zoo recipe is covered by tests/test_zoo.py, the 2-replica step by tests/test_barlow_twins_replicas.py.
"""

import keras
import numpy as np
import pytest

from kssl.errors import RecipeError
from kssl.heads import MLPHead
from kssl.losses import BarlowTwinsLoss, barlow_twins_loss
from kssl.losses.barlow_twins import cross_correlation
from kssl.plugins import get_registry
from kssl.pretext.barlow_twins import BarlowTwins
from kssl.testing import build_component, check_pretext, tiny_encoder, tiny_images

SMALL = {"projection_dim": 8, "projection_hidden_dims": [16], "redundancy_weight": 0.05}


def _np(value):
    return np.asarray(keras.ops.convert_to_numpy(value))


def _reference(z1, z2, lambda_, epsilon=1e-5):
    """The paper's eq. (1)-(2) with explicit loops, in float64."""
    n, d = z1.shape

    def standardise(z):
        out = np.empty_like(z)
        for j in range(d):
            mean = sum(z[k, j] for k in range(n)) / n
            variance = sum((z[k, j] - mean) ** 2 for k in range(n)) / n
            for k in range(n):
                out[k, j] = (z[k, j] - mean) / np.sqrt(variance + epsilon)
        return out

    a, b = standardise(z1), standardise(z2)
    loss = 0.0
    for i in range(d):
        for j in range(d):
            c = sum(a[k, i] * b[k, j] for k in range(n)) / n
            loss += (1.0 - c) ** 2 if i == j else lambda_ * c**2
    return loss


def _decorrelated(n=8, d=4):
    """(n, d) with every column of mean 0 and population variance 1, and the columns orthogonal."""
    basis = np.random.default_rng(1).normal(size=(n, d))
    basis -= basis.mean(axis=0)  # columns orthogonal to the constant vector: mean 0
    q, _ = np.linalg.qr(basis)  # orthonormal columns spanning the same space: still mean 0
    return (q * np.sqrt(n)).astype("float32")


def test_loss_matches_a_numpy_reference_with_loops():
    rng = np.random.default_rng(0)
    z1 = rng.normal(size=(7, 5)) * rng.uniform(0.5, 3.0, size=5) + rng.normal(size=5)
    z2 = 0.6 * z1 + rng.normal(size=(7, 5))
    for lambda_ in (5e-3, 0.5):
        expected = _reference(z1, z2, lambda_)
        got = float(_np(barlow_twins_loss(z1.astype("float32"), z2.astype("float32"), lambda_)))
        assert got == pytest.approx(expected, rel=1e-5)
        assert float(_np(BarlowTwinsLoss(lambda_)(z1.astype("float32"), z2.astype("float32")))) == pytest.approx(expected, rel=1e-5)


def test_cross_correlation_is_the_correlation_matrix():
    rng = np.random.default_rng(2)
    z1, z2 = rng.normal(size=(50, 3)), rng.normal(size=(50, 4))
    expected = np.corrcoef(z1.T, z2.T)[:3, 3:]
    np.testing.assert_allclose(_np(cross_correlation(z1.astype("float32"), z2.astype("float32"), epsilon=0.0)), expected, atol=1e-5)


def test_closed_forms():
    z = _decorrelated(8, 4)  # standardised, decorrelated features: C(z, z) = I
    np.testing.assert_allclose(z.T @ z / 8, np.eye(4), atol=1e-5)
    assert float(_np(barlow_twins_loss(z, z, 0.5, epsilon=0.0))) == pytest.approx(0.0, abs=1e-6)
    # Anti-correlated views: C = -I, each diagonal term (1 - (-1))^2 = 4.
    assert float(_np(barlow_twins_loss(z, -z, 0.5, epsilon=0.0))) == pytest.approx(4 * 4, rel=1e-5)
    # Fully redundant features (D copies of one): C is all ones, only the D (D - 1) off-diagonal terms count.
    redundant = np.repeat(z[:, :1], 4, axis=1)
    assert float(_np(barlow_twins_loss(redundant, redundant, 0.5, epsilon=0.0))) == pytest.approx(0.5 * 4 * 3, rel=1e-5)
    # Each view's features are standardised over the batch: a positive scale and shift per feature change nothing.
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(16, 3)).astype("float32"), rng.normal(size=(16, 3)).astype("float32")
    moved = (a * np.array([0.1, 4.0, 2.0]) + np.array([5.0, -3.0, 0.0])).astype("float32")
    assert float(_np(barlow_twins_loss(moved, b, 0.2, epsilon=0.0))) == pytest.approx(float(_np(barlow_twins_loss(a, b, 0.2, epsilon=0.0))), rel=1e-4)


def test_the_loss_computes_in_float32_and_keeps_its_config():
    z = _decorrelated(8, 4).astype("float16")
    assert keras.backend.standardize_dtype(barlow_twins_loss(z, z).dtype) == "float32"
    loss = BarlowTwinsLoss(0.25, epsilon=1e-3)
    again = BarlowTwinsLoss.from_config(loss.get_config())
    assert (again.lambda_, again.epsilon, again.name) == (0.25, 1e-3, "barlow_twins")


def test_the_pretext_task_embeds_each_view_and_scores_them_with_the_loss():
    model = BarlowTwins(tiny_encoder((8, 8, 1)), keras.layers.Identity(), **SMALL)
    x = tiny_images(6, 8)
    z = model(x, training=False)
    assert tuple(z.shape) == (2, 6, 8)
    np.testing.assert_allclose(_np(z[0]), _np(z[1]))  # no augmenter: both views are the batch
    assert isinstance(model.projector, MLPHead) and model.projector.hidden_dims == [16] and not model.projector.output_batch_norm
    y_pred = np.random.default_rng(4).normal(size=(2, 6, 8)).astype("float32")
    expected = _reference(y_pred[0].astype("float64"), y_pred[1].astype("float64"), 0.05)
    assert float(_np(model.compute_loss(y_pred=y_pred))) == pytest.approx(expected, rel=1e-5)
    assert {"projection_dim": 8, "projection_hidden_dims": [16], "redundancy_weight": 0.05}.items() <= model.get_config().items()


def test_the_two_views_are_augmented_independently_when_training():
    model = BarlowTwins(tiny_encoder((8, 8, 1)), augmenter=keras.layers.GaussianNoise(0.5, seed=0), **SMALL)
    x = tiny_images(4, 8)
    z = _np(model(x, training=True))
    assert not np.allclose(z[0], z[1])


def test_component_contract(tmp_path):
    augmenter = get_registry().get("augmenter", "simclr")(blur_probability=0.0, seed=0)
    check_pretext(BarlowTwins, SMALL, augmenter=augmenter, tmp_path=tmp_path)


def test_registered_as_barlow_twins():
    assert get_registry().get("pretext", "barlow_twins") is BarlowTwins


@pytest.mark.parametrize(
    "args, path",
    [
        ({"redundancy_weight": -0.1}, "pretext.redundancy_weight"),
        ({"projection_dim": 0}, "pretext.projection_dim"),
        ({"projection_hidden_dims": 64}, "pretext.projection_hidden_dims"),
    ],
)
def test_bad_arguments_name_the_key(args, path):
    with pytest.raises(RecipeError, match=path):
        build_component("pretext", BarlowTwins, args, objects={"encoder": tiny_encoder(), "augmenter": keras.layers.Identity()})
