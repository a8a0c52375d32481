"""BYOL: the loss against an independent reference, the momentum target, the component contract."""

import math
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from kssl_byol.byol import BYOL
from kssl_byol.byol_loss import BYOLLoss, byol_loss
from kssl_byol.momentum_update import MomentumUpdate, momentum_at

import kssl
from kssl.errors import RecipeError
from kssl.heads import MLPHead
from kssl.testing import build_component, check_pretext, tiny_encoder, tiny_images

SMALL = {"projection_dim": 8, "projection_hidden_dims": [16], "predictor_hidden_dims": [16]}


def _np(value):
    return np.asarray(keras.ops.convert_to_numpy(value))


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


def test_momentum_schedule_closed_form():
    assert momentum_at(0, 100, 0.99) == pytest.approx(0.99)
    assert momentum_at(50, 100, 0.99) == pytest.approx(0.995)
    assert momentum_at(100, 100, 0.99) == pytest.approx(1.0)
    assert momentum_at(25, 100, 0.9) == pytest.approx(1 - 0.1 * (math.cos(math.pi / 4) + 1) / 2)
    assert momentum_at(7, None, 0.99) == 0.99


def _model(**kwargs):
    model = BYOL(tiny_encoder((8, 8, 1)), **{**SMALL, **kwargs})
    model(tiny_images(4, 8))
    return model


def test_a_pretext_task_with_mlp_heads_and_the_momentum_update_as_its_callback():
    model = BYOL(tiny_encoder((8, 8, 1)), **SMALL, batch_norm=False, base_momentum=0.9)
    assert isinstance(model, kssl.PretextTask)
    for head, hidden in ((model.projector, [16]), (model.predictor, [16]), (model.target_projector, [16])):
        assert isinstance(head, MLPHead) and head.hidden_dims == hidden and head.output_dim == 8 and not head.batch_norm
    (callback,) = model.training_callbacks()
    assert isinstance(callback, MomentumUpdate) and callback.base_momentum == 0.9
    own = {"projection_dim": 8, "projection_hidden_dims": [16], "predictor_hidden_dims": [16], "batch_norm": False, "base_momentum": 0.9}
    assert own.items() <= model.get_config().items()


def test_target_starts_as_a_copy_and_is_not_trained_by_the_optimizer():
    model = _model()
    pairs = model.target_pairs()
    assert len(pairs) == len(model.encoder.trainable_weights) + len(model.projector.trainable_weights)
    for online, target in pairs:
        np.testing.assert_array_equal(_np(online), _np(target))
    trainable = {id(v) for v in model.trainable_variables}
    assert not any(id(target) in trainable for _, target in pairs)
    assert all(id(v) in trainable for v in model.predictor.trainable_variables)
    assert not any(id(v) in trainable for v in [*model.target_encoder.weights, *model.target_projector.weights])
    assert model.target_projector.blocks[1].trainable  # batch norm still normalises with batch statistics


def test_the_target_is_frozen_again_after_reloading(tmp_path):
    model = _model()
    model.save(tmp_path / "byol.keras")
    loaded = keras.models.load_model(tmp_path / "byol.keras")
    assert len(loaded.trainable_variables) == len(model.trainable_variables)
    for (_, before), (_, after) in zip(model.target_pairs(), loaded.target_pairs()):
        np.testing.assert_array_equal(_np(after), _np(before))


def _ema_after_one_step(model, x):
    """Fit one step; return (expected target, actual target) per weight."""
    before = [_np(t).copy() for _, t in model.target_pairs()]
    model.compile(optimizer=keras.optimizers.SGD(0.5))
    model.fit(x, batch_size=len(x), epochs=1, verbose=0)  # one step: the momentum is base_momentum
    tau = model.base_momentum
    return [(tau * t0 + (1 - tau) * _np(online), _np(target)) for t0, (online, target) in zip(before, model.target_pairs())]


def test_fit_adds_the_momentum_update_and_moves_the_target():
    model = _model(base_momentum=0.9)
    x = tiny_images(8, 8)
    online_before = [_np(o).copy() for o, _ in model.target_pairs()]
    pairs = _ema_after_one_step(model, x)
    for expected, actual in pairs:
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)
    moved = [not np.allclose(_np(o), b) for (o, _), b in zip(model.target_pairs(), online_before)]
    assert any(moved), "the online network did not train"


def test_a_callback_passed_to_fit_is_not_duplicated():
    model = _model()
    model.compile(optimizer=keras.optimizers.SGD(0.5))
    before = [_np(t).copy() for _, t in model.target_pairs()]
    mine = MomentumUpdate(base_momentum=0.5, total_steps=10)
    model.fit(tiny_images(4, 8), batch_size=4, epochs=1, verbose=0, callbacks=[mine])
    assert mine.last_momentum == pytest.approx(0.5)  # step 0 of 10
    # Exactly one EMA step with momentum 0.5: a second, default MomentumUpdate(0.99) would move the target again.
    moved = False
    for t0, (online, target) in zip(before, model.target_pairs()):
        np.testing.assert_allclose(_np(target), 0.5 * t0 + 0.5 * _np(online), rtol=1e-5, atol=1e-6)
        moved = moved or not np.allclose(_np(online), t0)
    assert moved, "the online network did not train, so a duplicated update would go unnoticed"


def test_component_contract(tmp_path):
    from kssl.plugins import get_registry

    augmenter = get_registry().get("augmenter", "simclr")(blur_probability=0.0, seed=0)
    check_pretext(BYOL, SMALL, augmenter=augmenter, tmp_path=tmp_path)


@pytest.mark.parametrize(
    "args, path",
    [
        ({"base_momentum": 1.5}, "pretext.base_momentum"),
        ({"projection_dim": 0}, "pretext.projection_dim"),
        ({"predictor_hidden_dims": 32}, "pretext.predictor_hidden_dims"),
    ],
)
def test_bad_arguments_name_the_key(args, path):
    with pytest.raises(RecipeError, match=path):
        build_component("pretext", BYOL, args, objects={"encoder": tiny_encoder()})


def test_momentum_update_on_jax(tmp_path):
    # JAX keeps the training state outside the variables between steps: the callback must sync it.
    code = textwrap.dedent(
        """
        import numpy as np, keras
        from kssl.testing import tiny_encoder, tiny_images
        from kssl_byol.byol import BYOL
        model = BYOL(tiny_encoder((8, 8, 1)), projection_dim=8, projection_hidden_dims=[16], predictor_hidden_dims=[16], base_momentum=0.9)
        x = tiny_images(8, 8)
        model(x)
        before = [np.array(t) for _, t in model.target_pairs()]
        model.compile(optimizer=keras.optimizers.SGD(0.5))
        model.fit(x, batch_size=8, epochs=1, verbose=0)
        worst = max(float(np.max(np.abs(0.9 * t0 + 0.1 * np.array(o) - np.array(t)))) for t0, (o, t) in zip(before, model.target_pairs()))
        moved = max(float(np.max(np.abs(np.array(t) - t0))) for t0, (_, t) in zip(before, model.target_pairs()))
        print("backend", keras.backend.backend(), "worst", worst, "moved", moved)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], env={**os.environ, "KERAS_BACKEND": "jax"}, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    words = result.stdout.split()
    assert words[1] == "jax"
    assert float(words[3]) < 1e-5 and float(words[5]) > 1e-4, result.stdout
