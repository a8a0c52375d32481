"""VICReg: the loss against an independent numpy reference and closed forms, the pretext task, a JAX fit.

The zoo recipe is covered by tests/test_zoo.py, the 2-replica step by tests/test_vicreg_replicas.py.
"""

import keras
import numpy as np
import pytest
from jax_subprocess import run_on_jax

from kssl.errors import RecipeError
from kssl.heads import MLPHead
from kssl.losses import VICRegLoss, vicreg_loss, vicreg_terms
from kssl.plugins import get_registry
from kssl.pretext.vicreg import VICReg
from kssl.testing import build_component, check_pretext, tiny_encoder, tiny_images

SMALL = {"projection_dim": 8, "projection_hidden_dims": [16]}


def _np(value):
    return np.asarray(keras.ops.convert_to_numpy(value))


def _reference(z1, z2, lam=25.0, mu=25.0, nu=1.0, gamma=1.0, eps=1e-4):
    """The paper's terms with explicit loops over samples and dimensions, in float64 (as in its released code:
    the two views' variance hinges averaged, their covariance terms summed)."""
    n, d = z1.shape
    invariance = sum((z1[k, j] - z2[k, j]) ** 2 for k in range(n) for j in range(d)) / (n * d)
    variance = covariance = 0.0
    for z in (z1, z2):
        means = [sum(z[k, j] for k in range(n)) / n for j in range(d)]
        cov = [[sum((z[k, i] - means[i]) * (z[k, j] - means[j]) for k in range(n)) / (n - 1) for j in range(d)] for i in range(d)]
        variance += 0.5 * sum(max(0.0, gamma - np.sqrt(cov[j][j] + eps)) for j in range(d)) / d
        covariance += sum(cov[i][j] ** 2 for i in range(d) for j in range(d) if i != j) / d
    return invariance, variance, covariance, lam * invariance + mu * variance + nu * covariance


def test_terms_and_loss_match_a_numpy_reference_with_loops():
    rng = np.random.default_rng(0)
    z1 = rng.normal(size=(9, 5)) * rng.uniform(0.2, 2.0, size=5) + rng.normal(size=5)  # some dimensions below std 1
    z2 = 0.7 * z1 + 0.5 * rng.normal(size=(9, 5))
    *terms, total = _reference(z1, z2)
    a, b = z1.astype("float32"), z2.astype("float32")
    np.testing.assert_allclose([float(_np(t)) for t in vicreg_terms(a, b)], terms, rtol=1e-5)
    assert float(_np(vicreg_loss(a, b))) == pytest.approx(total, rel=1e-5)
    assert float(_np(VICRegLoss()(a, b))) == pytest.approx(total, rel=1e-5)
    *_, weighted = _reference(z1, z2, 2.0, 3.0, 0.5, gamma=2.0, eps=1e-2)
    assert float(_np(vicreg_loss(a, b, 2.0, 3.0, 0.5, gamma=2.0, epsilon=1e-2))) == pytest.approx(weighted, rel=1e-5)


def test_closed_forms():
    # Collapse: every sample embedded at the same point. No invariance or covariance cost, the full variance hinge.
    z = np.ones((6, 4), "float32")
    invariance, variance, covariance = (float(_np(t)) for t in vicreg_terms(z, z, epsilon=0.0))
    assert (invariance, variance, covariance) == (0.0, pytest.approx(1.0), 0.0)
    # Decorrelated dimensions with std 2 in both (identical) views: the loss is 0.
    basis = np.random.default_rng(1).normal(size=(8, 3))
    basis -= basis.mean(axis=0)
    q, _ = np.linalg.qr(basis)
    spread = (q * 2.0 * np.sqrt(7.0)).astype("float32")  # unbiased std 2, covariance 4 I
    assert float(_np(vicreg_loss(spread, spread, epsilon=0.0))) == pytest.approx(0.0, abs=1e-5)
    # A shift of one view costs its squared size in the invariance term only.
    assert float(_np(vicreg_terms(spread, spread + 0.5, epsilon=0.0)[0])) == pytest.approx(0.25, rel=1e-5)


def test_the_loss_computes_in_float32_and_keeps_its_config():
    z = tiny_images(6, 2).reshape(6, 4).astype("float16")
    assert keras.backend.standardize_dtype(vicreg_loss(z, z).dtype) == "float32"
    loss = VICRegLoss(1.0, 2.0, 3.0, gamma=0.5, epsilon=1e-3)
    again = VICRegLoss.from_config(loss.get_config())
    weights = (again.invariance_weight, again.variance_weight, again.covariance_weight)
    assert (*weights, again.gamma, again.epsilon, again.name) == (1.0, 2.0, 3.0, 0.5, 1e-3, "vicreg")


def test_the_pretext_task_expands_each_view_and_scores_them_with_the_loss():
    noise = keras.layers.GaussianNoise(0.5, seed=0)
    model = VICReg(tiny_encoder((8, 8, 1)), noise, invariance_weight=2.0, variance_weight=3.0, covariance_weight=0.5, **SMALL)
    x = tiny_images(6, 8)
    z = model(x, training=False)
    assert tuple(z.shape) == (2, 6, 8)
    np.testing.assert_allclose(_np(z[0]), _np(z[1]))  # not training: both views are the batch
    assert not np.allclose(*_np(model(x, training=True)))  # training: two independent augmentations
    assert isinstance(model.expander, MLPHead) and model.expander.hidden_dims == [16] and model.expander.output_dim == 8
    y_pred = np.random.default_rng(4).normal(size=(2, 6, 8)).astype("float32")
    *_, expected = _reference(y_pred[0].astype("float64"), y_pred[1].astype("float64"), 2.0, 3.0, 0.5)
    assert float(_np(model.compute_loss(y_pred=y_pred))) == pytest.approx(expected, rel=1e-5)
    assert {"invariance_weight": 2.0, "variance_weight": 3.0, "covariance_weight": 0.5, **SMALL}.items() <= model.get_config().items()


def test_component_contract_and_round_trip(tmp_path):
    augmenter = get_registry().get("augmenter", "simclr")(blur_probability=0.0, seed=0)
    check_pretext(VICReg, SMALL, augmenter=augmenter, tmp_path=tmp_path)


def test_registered_as_vicreg():
    assert get_registry().get("pretext", "vicreg") is VICReg


@pytest.mark.parametrize(
    "args, path",
    [
        ({"invariance_weight": -1.0}, "pretext.invariance_weight"),
        ({"variance_weight": "high"}, "pretext.variance_weight"),
        ({"covariance_weight": -0.1}, "pretext.covariance_weight"),
        ({"projection_dim": 0}, "pretext.projection_dim"),
        ({"projection_hidden_dims": 64}, "pretext.projection_hidden_dims"),
    ],
)
def test_bad_arguments_name_the_key(args, path):
    with pytest.raises(RecipeError, match=path):
        build_component("pretext", VICReg, args, objects={"encoder": tiny_encoder(), "augmenter": keras.layers.GaussianNoise(0.1)})


def test_needs_an_augmenter():
    with pytest.raises(RecipeError, match=r"^augmenter: .*needs an augmenter"):
        build_component("pretext", VICReg, SMALL, objects={"encoder": tiny_encoder(), "augmenter": None})


JAX_FIT = """
import numpy as np, keras, kssl
from kssl.augment.simclr_augment import SimCLRAugment
from kssl.pretext.vicreg import VICReg
from kssl.testing import tiny_encoder, tiny_images
x = tiny_images(16, 8)
model = VICReg(tiny_encoder((8, 8, 1)), SimCLRAugment(blur_probability=0.0, seed=0), projection_dim=8, projection_hidden_dims=[16])
model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=True)
model(x[:2])
before = [np.array(v) for v in model.trainable_variables]
loss = model.fit(x, batch_size=8, epochs=1, verbose=0).history["loss"]
assert np.isfinite(loss).all() and any(not np.array_equal(b, np.array(a)) for b, a in zip(before, model.trainable_variables))
model.save("/tmp/kssl_vicreg_jax.keras")
again = keras.models.load_model("/tmp/kssl_vicreg_jax.keras")
np.testing.assert_allclose(again.embed(x), model.embed(x), rtol=1e-5, atol=1e-5)
print("JAX-OK")
"""


@pytest.mark.slow
def test_fits_and_round_trips_on_jax():
    run_on_jax(JAX_FIT, timeout=300)
