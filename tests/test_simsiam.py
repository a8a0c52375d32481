"""SimSiam: the loss against a numpy version of the paper's pseudo-code, the stop-gradient, the method, its contract."""

import keras
import numpy as np
import pytest
from jax_subprocess import run_on_jax

from kssl.errors import RecipeError
from kssl.heads import MLPHead
from kssl.losses import SimSiamLoss, negative_cosine, simsiam_loss
from kssl.plugins import get_registry
from kssl.pretext.simsiam import SimSiam
from kssl.testing import build_component, check_pretext, tiny_encoder, tiny_images

SMALL = {"projection_dim": 8, "projection_hidden_dims": [16], "predictor_hidden_dims": [4]}


def _np(value):
    return np.asarray(keras.ops.convert_to_numpy(value))


def _reference(p1, p2, z1, z2):
    """Algorithm 1 of Chen & He (2021): D(p, z) = -(normalize(p) * normalize(z)).sum(dim=1).mean(); L = D(p1, z2)/2 + D(p2, z1)/2."""

    def d(p, z):
        p = p / np.linalg.norm(p, axis=1, keepdims=True)
        z = z / np.linalg.norm(z, axis=1, keepdims=True)
        return -(p * z).sum(axis=1).mean()

    return d(p1, z2) / 2 + d(p2, z1) / 2


def test_loss_matches_the_papers_pseudo_code():
    rng = np.random.default_rng(0)
    p1, p2, z1, z2 = (rng.normal(size=(7, 5)) for _ in range(4))
    expected = _reference(p1, p2, z1, z2)
    f32 = [a.astype("float32") for a in (p1, p2, z1, z2)]
    assert float(np.mean(_np(simsiam_loss(*f32)))) == pytest.approx(expected, rel=1e-5)
    assert float(_np(SimSiamLoss()((f32[2], f32[3]), (f32[0], f32[1])))) == pytest.approx(expected, rel=1e-5)


def test_loss_closed_forms():
    v = np.array([[1.0, 2.0, 2.0]], "float32")
    w = np.array([[2.0, -1.0, 0.0]], "float32")  # orthogonal to v
    assert float(_np(negative_cosine(v, 5 * v))[0]) == pytest.approx(-1.0, abs=1e-6)
    assert float(_np(negative_cosine(v, -v))[0]) == pytest.approx(1.0, abs=1e-6)
    assert float(_np(negative_cosine(v, w))[0]) == pytest.approx(0.0, abs=1e-6)


def test_the_gradient_of_the_projection_is_stopped():
    import tensorflow as tf

    rng = np.random.default_rng(1)
    p, z = (tf.Variable(rng.normal(size=(4, 3)).astype("float32")) for _ in range(2))
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(negative_cosine(p, z))
    grad_p, grad_z = tape.gradient(loss, [p, z])
    assert grad_z is None and float(tf.reduce_max(tf.abs(grad_p))) > 1e-3


def test_the_method_projects_each_view_predicts_and_symmetrises():
    model = SimSiam(tiny_encoder((8, 8, 1)), keras.layers.GaussianNoise(0.1, seed=0), **SMALL)
    out = model(tiny_images(6, 8), training=False)
    assert tuple(out.shape) == (4, 6, 8)
    assert model.projector.output_batch_norm and isinstance(model.predictor, MLPHead) and model.predictor.hidden_dims == [4]
    y_pred = np.random.default_rng(2).normal(size=(4, 6, 8)).astype("float32")
    assert float(_np(model.compute_loss(y_pred=y_pred))) == pytest.approx(_reference(*y_pred.astype("float64")), rel=1e-5)
    assert SMALL.items() <= model.get_config().items()


def test_component_contract(tmp_path):
    augmenter = get_registry().get("augmenter", "simclr")(blur_probability=0.0, seed=0)
    check_pretext(SimSiam, SMALL, augmenter=augmenter, tmp_path=tmp_path)


def test_registered_as_simsiam():
    assert get_registry().get("pretext", "simsiam") is SimSiam


@pytest.mark.parametrize("args, path", [({"projection_dim": 0}, "pretext.projection_dim"), ({"predictor_hidden_dims": 8}, "pretext.predictor_hidden_dims")])
def test_bad_arguments_name_the_key(args, path):
    with pytest.raises(RecipeError, match=path):
        build_component("pretext", SimSiam, args, objects={"encoder": tiny_encoder(), "augmenter": keras.layers.GaussianNoise(0.1)})


def test_without_an_augmenter_is_an_error_naming_augmenter():
    with pytest.raises(RecipeError, match=r"^augmenter: .*SimSiam"):
        build_component("pretext", SimSiam, SMALL, objects={"encoder": tiny_encoder(), "augmenter": None})


@pytest.mark.slow
def test_a_short_fit_on_jax():
    script = """
import numpy as np, keras
from kssl.pretext.simsiam import SimSiam
from kssl.testing import tiny_encoder, tiny_images
model = SimSiam(tiny_encoder((8, 8, 1)), keras.layers.GaussianNoise(0.1, seed=0), projection_dim=8, projection_hidden_dims=[16], predictor_hidden_dims=[4])
model.compile(optimizer="adam", jit_compile=True)
loss = model.fit(tiny_images(8, 8), batch_size=4, epochs=1, verbose=0).history["loss"]
assert np.isfinite(loss[-1]) and -1.0 <= loss[-1] <= 1.0, loss
print("JAX-OK")
"""
    run_on_jax(script, timeout=240)
