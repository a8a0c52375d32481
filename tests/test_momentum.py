"""The shared momentum (EMA) target: the schedule, the update, freezing, the callback, on TensorFlow and JAX.

One mechanism for BYOL, MoCo v2, MoCo v3 and DINO (kssl.pretext.momentum_task); tested here on a minimal
subclass so that a method's own tests only check what is its own.
"""

import math

import keras
import numpy as np
import pytest
from jax_subprocess import run_on_jax
from keras import ops

from kssl.errors import ArgumentError, RecipeError
from kssl.losses import with_model_losses
from kssl.pretext.momentum_task import MomentumPretextTask, copy_network, paired_weights
from kssl.pretext.momentum_update import MomentumUpdate, momentum_at
from kssl.testing import build_component, tiny_encoder, tiny_images


class TinyMomentumTask(MomentumPretextTask):
    """The online encoder regresses the momentum encoder's features of the other view (a minimal subclass)."""

    def __init__(self, encoder, augmenter=None, base_momentum=0.99, **kwargs):
        super().__init__(encoder, augmenter, base_momentum=base_momentum, **kwargs)
        self.target_encoder = copy_network(encoder)

    def build_heads(self, input_shape):
        super().build_heads(input_shape)
        self.freeze_target()

    def target_pairs(self):
        return paired_weights([self.encoder], [self.target_encoder])

    def call(self, x, training=False):
        v1, v2 = self.views(x, 2, training=training)
        return ops.stack([self.encoder(v1, training=training), ops.stop_gradient(self.target_encoder(v2, training=training))], axis=0)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return with_model_losses(self, ops.mean(ops.square(y_pred[0] - y_pred[1])))


def _np(value):
    return np.asarray(keras.ops.convert_to_numpy(value))


def _model(base_momentum=0.9):
    model = TinyMomentumTask(tiny_encoder((8, 8, 1)), keras.layers.GaussianNoise(0.1, seed=0), base_momentum=base_momentum)
    model(tiny_images(4, 8))
    return model


def test_momentum_schedule_closed_form():
    # Grill et al. 2020, section 3.2: tau = 1 - (1 - tau_base) (cos(pi k / K) + 1) / 2
    assert momentum_at(0, 100, 0.99) == pytest.approx(0.99)
    assert momentum_at(50, 100, 0.99) == pytest.approx(0.995)
    assert momentum_at(100, 100, 0.99) == pytest.approx(1.0)
    assert momentum_at(250, 100, 0.99) == pytest.approx(1.0)  # past the end: stays at 1
    assert momentum_at(25, 100, 0.9) == pytest.approx(1 - 0.1 * (math.cos(math.pi / 4) + 1) / 2)
    assert momentum_at(7, None, 0.99) == 0.99  # no known length: constant
    values = [momentum_at(k, 40, 0.5) for k in range(41)]
    assert all(b >= a for a, b in zip(values, values[1:]))  # never decreases


def test_copy_network_has_the_architecture_and_its_own_weights():
    encoder = tiny_encoder((8, 8, 1))
    copy = copy_network(encoder)
    assert copy.name == "target_tiny_encoder" and copy is not encoder
    assert [type(layer) for layer in copy.layers] == [type(layer) for layer in encoder.layers]
    assert {id(v) for v in copy.weights}.isdisjoint(id(v) for v in encoder.weights)


def test_freeze_target_makes_a_non_trainable_copy():
    model = _model()
    pairs = model.target_pairs()
    assert len(pairs) == len(model.encoder.trainable_weights) == 4
    trainable = {id(v) for v in model.trainable_variables}
    for online, target in pairs:
        np.testing.assert_array_equal(_np(online), _np(target))
        assert not target.trainable and id(target) not in trainable and id(online) in trainable


def test_update_target_is_the_exact_ema_and_momentum_zero_copies():
    model = _model()
    rng = np.random.default_rng(0)
    for online, _ in model.target_pairs():
        online.assign(rng.normal(size=online.shape).astype("float32"))
    before = [(_np(o).copy(), _np(t).copy()) for o, t in model.target_pairs()]
    model.update_target(0.75)
    for (o0, t0), (online, target) in zip(before, model.target_pairs()):
        np.testing.assert_allclose(_np(target), 0.75 * t0 + 0.25 * o0, rtol=1e-6, atol=1e-7)
        np.testing.assert_array_equal(_np(online), o0)  # the online network is untouched
    model.update_target(0.0)
    for online, target in model.target_pairs():
        np.testing.assert_array_equal(_np(target), _np(online))


def test_fit_adds_the_momentum_update_and_moves_the_target_by_one_ema_step():
    model = _model(base_momentum=0.9)
    (callback,) = model.training_callbacks()
    assert isinstance(callback, MomentumUpdate) and callback.base_momentum == 0.9
    before = [_np(t).copy() for _, t in model.target_pairs()]
    online_before = [_np(o).copy() for o, _ in model.target_pairs()]
    model.compile(optimizer=keras.optimizers.SGD(0.5))
    model.fit(tiny_images(8, 8), batch_size=8, epochs=1, verbose=0)  # one step: momentum = base
    for t0, (online, target) in zip(before, model.target_pairs()):
        np.testing.assert_allclose(_np(target), 0.9 * t0 + 0.1 * _np(online), rtol=1e-5, atol=1e-6)
    assert any(not np.allclose(_np(o), o0) for (o, _), o0 in zip(model.target_pairs(), online_before)), "the online network did not train"


def test_the_schedule_follows_the_optimizer_steps_and_a_callback_passed_to_fit_is_not_duplicated():
    model = _model()
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    mine = MomentumUpdate(base_momentum=0.5)
    model.fit(tiny_images(8, 8), batch_size=2, epochs=2, verbose=0, callbacks=[mine])  # 4 steps x 2 epochs
    assert mine._total == 8 and mine.last_momentum == pytest.approx(momentum_at(7, 8, 0.5))
    before = [_np(t).copy() for _, t in model.target_pairs()]
    fixed = MomentumUpdate(base_momentum=0.5, total_steps=100)
    model.fit(tiny_images(2, 8), batch_size=2, epochs=1, verbose=0, callbacks=[fixed])  # step 8 of 100
    assert fixed.last_momentum == pytest.approx(momentum_at(8, 100, 0.5))
    m = fixed.last_momentum  # exactly one EMA step: a second, default MomentumUpdate would move the target again
    for t0, (online, target) in zip(before, model.target_pairs()):
        np.testing.assert_allclose(_np(target), m * t0 + (1 - m) * _np(online), rtol=1e-5, atol=1e-6)


def test_the_target_is_frozen_again_after_reloading(tmp_path):
    model = _model()
    model.update_target(0.0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", custom_objects={"TinyMomentumTask": TinyMomentumTask})
    assert len(loaded.trainable_variables) == len(model.trainable_variables)
    assert loaded.base_momentum == 0.9 and loaded.get_config()["base_momentum"] == 0.9
    for (_, before), (_, after) in zip(model.target_pairs(), loaded.target_pairs()):
        np.testing.assert_array_equal(_np(after), _np(before))
        assert not after.trainable


@pytest.mark.parametrize("momentum", [1.0, -0.1, 1.5, "high", float("nan")])
def test_a_momentum_outside_0_1_is_an_error_naming_base_momentum(momentum):
    with pytest.raises(ArgumentError, match="base_momentum"):
        TinyMomentumTask(tiny_encoder((8, 8, 1)), keras.layers.GaussianNoise(0.1), base_momentum=momentum)
    with pytest.raises(RecipeError, match=r"^pretext\.base_momentum: "):
        objects = {"encoder": tiny_encoder(), "augmenter": keras.layers.GaussianNoise(0.1)}
        build_component("pretext", TinyMomentumTask, {"base_momentum": momentum}, objects=objects)


def test_a_momentum_task_without_an_augmenter_is_an_error_naming_augmenter():
    with pytest.raises(RecipeError, match=r"^augmenter: .*needs an augmenter"):
        build_component("pretext", TinyMomentumTask, {}, objects={"encoder": tiny_encoder(), "augmenter": None})


def test_target_pairs_is_abstract():
    with pytest.raises(NotImplementedError, match="target_pairs"):
        MomentumPretextTask(tiny_encoder((8, 8, 1)), keras.layers.GaussianNoise(0.1)).target_pairs()


@pytest.mark.slow
def test_the_momentum_update_on_jax_syncs_the_trainer_state():
    # JAX keeps the training state outside the variables between steps: the callback syncs it before the update,
    # and the next step starts from the updated target.
    script = """
import numpy as np, keras
from kssl.pretext.byol import BYOL
from kssl.testing import tiny_encoder, tiny_images
assert keras.backend.backend() == "jax"
model = BYOL(tiny_encoder((8, 8, 1)), keras.layers.GaussianNoise(0.1, seed=0), projection_dim=8, projection_hidden_dims=[16],
             predictor_hidden_dims=[16], base_momentum=0.9)
x = tiny_images(8, 8)
model(x)
before = [np.array(t) for _, t in model.target_pairs()]
model.compile(optimizer=keras.optimizers.SGD(0.5), jit_compile=True)
model.fit(x, batch_size=8, epochs=1, verbose=0)
after = [np.array(t) for _, t in model.target_pairs()]
worst = max(float(np.max(np.abs(0.9 * t0 + 0.1 * np.array(o) - t1))) for t0, t1, (o, _) in zip(before, after, model.target_pairs()))
moved = max(float(np.max(np.abs(t1 - t0))) for t0, t1 in zip(before, after))
assert worst < 1e-5 and moved > 1e-4, (worst, moved)
model.fit(x, batch_size=4, epochs=1, verbose=0)  # 2 more steps from the synced state
m = [model.optimizer.iterations.numpy()]
assert int(m[0]) == 3, m
print("JAX-OK")
"""
    run_on_jax(script, timeout=240)
