"""BYOL (moved into the core from the kssl-byol plugin): the loss against a numpy reference, the method, its contract.

The momentum mechanism itself is tested in tests/test_momentum.py, the zoo recipe by tests/test_zoo.py.
"""

import keras
import numpy as np
import pytest
from jax_subprocess import run_on_jax

import kssl
from kssl.errors import RecipeError
from kssl.heads import MLPHead
from kssl.losses import BYOLLoss, byol_loss
from kssl.plugins import get_registry
from kssl.pretext.byol import BYOL
from kssl.pretext.momentum_task import MomentumPretextTask
from kssl.pretext.momentum_update import MomentumUpdate
from kssl.testing import build_component, check_pretext, tiny_encoder, tiny_images

SMALL = {"projection_dim": 8, "projection_hidden_dims": [16], "predictor_hidden_dims": [16]}


def _np(value):
    return np.asarray(keras.ops.convert_to_numpy(value))


def _augmenter():
    return keras.layers.GaussianNoise(0.1, seed=0)


def test_loss_matches_a_numpy_reference():
    # Reference: the paper's squared distance of the L2-normalised vectors (eq. 2), in float64.
    rng = np.random.default_rng(0)
    q, z = rng.normal(size=(6, 5)), rng.normal(size=(6, 5))
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    zn = z / np.linalg.norm(z, axis=1, keepdims=True)
    expected = ((qn - zn) ** 2).sum(axis=1)
    np.testing.assert_allclose(_np(byol_loss(z.astype("float32"), q.astype("float32"))), expected, rtol=1e-5, atol=1e-6)
    assert float(_np(BYOLLoss()(z.astype("float32"), q.astype("float32")))) == pytest.approx(expected.mean(), rel=1e-5)


def test_loss_closed_forms():
    v = np.array([[1.0, 2.0, 2.0]], "float32")
    w = np.array([[2.0, -1.0, 0.0]], "float32")  # orthogonal to v
    assert float(_np(byol_loss(v, 3 * v))[0]) == pytest.approx(0.0, abs=1e-6)  # scale does not matter
    assert float(_np(byol_loss(v, -v))[0]) == pytest.approx(4.0, abs=1e-6)
    assert float(_np(byol_loss(v, w))[0]) == pytest.approx(2.0, abs=1e-6)


def test_the_method_symmetrises_the_loss_over_both_views():
    model = BYOL(tiny_encoder((8, 8, 1)), _augmenter(), **SMALL)
    y_pred = np.random.default_rng(1).normal(size=(4, 5, 8)).astype("float32")  # p1, p2, t1, t2
    p1, p2, t1, t2 = y_pred.astype("float64")

    def reference(p, t):
        return np.mean(2 - 2 * np.sum(p * t, axis=1) / np.linalg.norm(p, axis=1) / np.linalg.norm(t, axis=1))

    assert float(_np(model.compute_loss(y_pred=y_pred))) == pytest.approx(reference(p1, t2) + reference(p2, t1), rel=1e-5)


def test_a_momentum_pretext_task_with_mlp_heads_and_the_momentum_update_as_its_callback():
    model = BYOL(tiny_encoder((8, 8, 1)), _augmenter(), **SMALL, batch_norm=False, base_momentum=0.9)
    assert isinstance(model, MomentumPretextTask) and isinstance(model, kssl.PretextTask)
    for head in (model.projector, model.predictor, model.target_projector):
        assert isinstance(head, MLPHead) and head.hidden_dims == [16] and head.output_dim == 8 and not head.batch_norm
    (callback,) = model.training_callbacks()
    assert isinstance(callback, MomentumUpdate) and callback.base_momentum == 0.9
    own = {"projection_dim": 8, "projection_hidden_dims": [16], "predictor_hidden_dims": [16], "batch_norm": False, "base_momentum": 0.9}
    assert own.items() <= model.get_config().items()


def test_the_target_is_a_frozen_copy_of_encoder_and_projector_only():
    model = BYOL(tiny_encoder((8, 8, 1)), _augmenter(), **SMALL)
    model(tiny_images(4, 8))
    pairs = model.target_pairs()
    assert len(pairs) == len(model.encoder.trainable_weights) + len(model.projector.trainable_weights)
    for online, target in pairs:
        np.testing.assert_array_equal(_np(online), _np(target))
    trainable = {id(v) for v in model.trainable_variables}
    assert all(id(v) in trainable for v in model.predictor.trainable_variables)
    assert not any(id(v) in trainable for v in [*model.target_encoder.weights, *model.target_projector.weights])
    assert model.target_projector.blocks[1].trainable  # batch norm still normalises with batch statistics


def test_component_contract(tmp_path):
    augmenter = get_registry().get("augmenter", "simclr")(blur_probability=0.0, seed=0)
    check_pretext(BYOL, SMALL, augmenter=augmenter, tmp_path=tmp_path)


def test_registered_as_byol_in_the_core():
    assert get_registry().get("pretext", "byol") is BYOL
    assert get_registry().entry("pretext", "byol").provider == "kssl"


@pytest.mark.parametrize(
    "args, path",
    [
        ({"base_momentum": 1.0}, "pretext.base_momentum"),
        ({"base_momentum": -0.1}, "pretext.base_momentum"),
        ({"projection_dim": 0}, "pretext.projection_dim"),
        ({"predictor_hidden_dims": 32}, "pretext.predictor_hidden_dims"),
    ],
)
def test_bad_arguments_name_the_key(args, path):
    with pytest.raises(RecipeError, match=path):
        build_component("pretext", BYOL, args, objects={"encoder": tiny_encoder(), "augmenter": _augmenter()})


def test_without_an_augmenter_is_an_error_naming_augmenter():
    with pytest.raises(RecipeError, match=r"^augmenter: "):
        build_component("pretext", BYOL, SMALL, objects={"encoder": tiny_encoder(), "augmenter": None})


@pytest.mark.slow
def test_a_short_fit_on_jax():
    script = """
import numpy as np, keras
from kssl.pretext.byol import BYOL
from kssl.testing import tiny_encoder, tiny_images
model = BYOL(tiny_encoder((8, 8, 1)), keras.layers.GaussianNoise(0.1, seed=0), projection_dim=8, projection_hidden_dims=[16], predictor_hidden_dims=[16])
model.compile(optimizer="adam", jit_compile=True)
loss = model.fit(tiny_images(8, 8), batch_size=4, epochs=1, verbose=0).history["loss"]
assert np.isfinite(loss[-1]), loss
print("JAX-OK")
"""
    run_on_jax(script, timeout=240)
