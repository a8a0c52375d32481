"""MoCo v3: the loss against a numpy version of the paper's Algorithm 1, the method, its contract.

The 2-replica step (global-batch negatives) is tested in tests/test_moco_replicas.py, the momentum mechanism in
tests/test_momentum.py.
"""

import keras
import numpy as np
import pytest
from jax_subprocess import run_on_jax

from kssl.errors import RecipeError
from kssl.losses import MoCoV3Loss, moco_v3_contrastive
from kssl.plugins import get_registry
from kssl.pretext.moco_v3 import MoCoV3
from kssl.pretext.momentum_task import MomentumPretextTask
from kssl.testing import build_component, check_pretext, tiny_encoder, tiny_images

SMALL = {"projection_dim": 8, "projection_hidden_dims": [16], "predictor_hidden_dims": [16], "temperature": 0.5}


def _np(value):
    return np.asarray(keras.ops.convert_to_numpy(value))


def _ctr(q, k, tau):
    """Algorithm 1 of Chen, Xie & He (2021), in float64: 2 tau * CrossEntropy(normalize(q) normalize(k)^T / tau, range(N))."""
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    k = k / np.linalg.norm(k, axis=1, keepdims=True)
    logits = q @ k.T / tau
    losses = [np.log(np.exp(row).sum()) - row[i] for i, row in enumerate(logits)]
    return 2 * tau * np.mean(losses)


def test_loss_matches_the_papers_pseudo_code():
    rng = np.random.default_rng(0)
    q, k = rng.normal(size=(6, 5)), rng.normal(size=(6, 5))
    for tau in (0.2, 1.0):
        expected = _ctr(q, k, tau)
        assert float(np.mean(_np(moco_v3_contrastive(q.astype("float32"), k.astype("float32"), tau)))) == pytest.approx(expected, rel=1e-5)
        assert float(_np(MoCoV3Loss(tau)(k.astype("float32"), q.astype("float32")))) == pytest.approx(expected, rel=1e-5)


def test_loss_closed_forms():
    # Orthonormal queries equal to their keys: logits 1/tau on the diagonal, 0 elsewhere.
    n, tau = 4, 0.5
    eye = np.eye(n, dtype="float32")
    expected = 2 * tau * (np.log(np.exp(1 / tau) + (n - 1)) - 1 / tau)
    assert float(np.mean(_np(moco_v3_contrastive(eye, 3 * eye, tau)))) == pytest.approx(expected, rel=1e-5)
    # Every key the same: the positive is no better than any negative, the loss is 2 tau log N.
    same = np.ones((n, 3), "float32")
    assert float(np.mean(_np(moco_v3_contrastive(same, same, tau)))) == pytest.approx(2 * tau * np.log(n), rel=1e-5)


def test_the_gradient_of_the_keys_is_stopped():
    import tensorflow as tf

    rng = np.random.default_rng(1)
    q, k = (tf.Variable(rng.normal(size=(4, 3)).astype("float32")) for _ in range(2))
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(moco_v3_contrastive(q, k, 0.2))
    grad_q, grad_k = tape.gradient(loss, [q, k])
    assert grad_k is None and float(tf.reduce_max(tf.abs(grad_q))) > 1e-3


def test_the_method_is_a_momentum_task_with_a_symmetrised_loss():
    model = MoCoV3(tiny_encoder((8, 8, 1)), keras.layers.GaussianNoise(0.1, seed=0), base_momentum=0.9, **SMALL)
    assert isinstance(model, MomentumPretextTask)
    out = model(tiny_images(6, 8), training=False)
    assert tuple(out.shape) == (4, 6, 8)
    np.testing.assert_allclose(_np(out[2]), _np(out[3]), atol=1e-6)  # no training: both views are the batch
    assert len(model.target_pairs()) == len(model.encoder.trainable_weights) + len(model.projector.trainable_weights)
    y_pred = np.random.default_rng(2).normal(size=(4, 6, 8))
    q1, q2, k1, k2 = y_pred
    expected = _ctr(q1, k2, 0.5) + _ctr(q2, k1, 0.5)
    assert float(_np(model.compute_loss(y_pred=y_pred.astype("float32")))) == pytest.approx(expected, rel=1e-5)
    assert {**SMALL, "base_momentum": 0.9, "batch_norm": True}.items() <= model.get_config().items()


def test_component_contract(tmp_path):
    augmenter = get_registry().get("augmenter", "simclr")(blur_probability=0.0, seed=0)
    check_pretext(MoCoV3, SMALL, augmenter=augmenter, tmp_path=tmp_path)


def test_registered_as_moco_v3():
    assert get_registry().get("pretext", "moco_v3") is MoCoV3


@pytest.mark.parametrize(
    "args, path",
    [
        ({"base_momentum": 1.0}, "pretext.base_momentum"),
        ({"base_momentum": -0.1}, "pretext.base_momentum"),
        ({"temperature": 0}, "pretext.temperature"),
        ({"predictor_hidden_dims": 8}, "pretext.predictor_hidden_dims"),
    ],
)
def test_bad_arguments_name_the_key(args, path):
    with pytest.raises(RecipeError, match=path):
        build_component("pretext", MoCoV3, args, objects={"encoder": tiny_encoder(), "augmenter": keras.layers.GaussianNoise(0.1)})


def test_without_an_augmenter_is_an_error_naming_augmenter():
    with pytest.raises(RecipeError, match=r"^augmenter: .*MoCoV3"):
        build_component("pretext", MoCoV3, SMALL, objects={"encoder": tiny_encoder(), "augmenter": None})


@pytest.mark.slow
def test_a_short_fit_on_jax():
    script = """
import numpy as np, keras
from kssl.pretext.moco_v3 import MoCoV3
from kssl.testing import tiny_encoder, tiny_images
model = MoCoV3(tiny_encoder((8, 8, 1)), keras.layers.GaussianNoise(0.1, seed=0), projection_dim=8, projection_hidden_dims=[16], predictor_hidden_dims=[16])
model.compile(optimizer="adam", jit_compile=True)
loss = model.fit(tiny_images(8, 8), batch_size=4, epochs=1, verbose=0).history["loss"]
assert np.isfinite(loss[-1]), loss
print("JAX-OK")
"""
    run_on_jax(script, timeout=240)
