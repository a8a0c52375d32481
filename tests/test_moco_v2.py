"""MoCo v2: the loss and the queue against a numpy version of the paper's Algorithm 1, the method, its contract.

The 2-replica step (loss, gradients, key network and queue) is tested in tests/test_moco_replicas.py, bad recipes
through the CLI in tests/test_momentum_cli.py.
"""

import keras
import numpy as np
import pytest
from jax_subprocess import run_on_jax

from kssl.errors import RecipeError
from kssl.losses import MoCoLoss, enqueue, moco_loss
from kssl.plugins import get_registry
from kssl.pretext.moco_v2 import MoCoV2
from kssl.testing import build_component, check_pretext, tiny_encoder, tiny_images

SMALL = {"projection_dim": 8, "projection_hidden_dims": [16], "queue_size": 16, "temperature": 0.5}


def _np(value):
    return np.asarray(keras.ops.convert_to_numpy(value))


def _normalize(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _reference_loss(q, k, queue, t):
    """Algorithm 1 of He et al. (2020), in float64: l_pos = q.k, l_neg = q queue^T, CrossEntropy(cat(l_pos, l_neg) / t, 0)."""
    q, k = _normalize(q), _normalize(k)
    l_pos = np.einsum("nc,nc->n", q, k)[:, None]
    l_neg = q @ queue.T
    logits = np.concatenate([l_pos, l_neg], axis=1) / t
    return np.mean([np.log(np.exp(row).sum()) - row[0] for row in logits])


class _FifoQueue:
    """The paper's dequeue-and-enqueue on a Python list of rows, oldest first overwritten."""

    def __init__(self, rows):
        self.rows, self.pointer = [np.array(r) for r in rows], 0

    def push(self, keys):
        for key in _normalize(keys):
            self.rows[self.pointer] = key
            self.pointer = (self.pointer + 1) % len(self.rows)


def test_loss_matches_the_papers_pseudo_code():
    rng = np.random.default_rng(0)
    q, k, queue = rng.normal(size=(5, 4)), rng.normal(size=(5, 4)), _normalize(rng.normal(size=(12, 4)))
    for t in (0.07, 0.2):
        expected = _reference_loss(q, k, queue, t)
        f32 = [a.astype("float32") for a in (q, k, queue)]
        assert float(np.mean(_np(moco_loss(*f32, t)))) == pytest.approx(expected, rel=1e-5)
        assert float(_np(MoCoLoss(t)((f32[1], f32[2]), f32[0]))) == pytest.approx(expected, rel=1e-5)


def test_loss_closed_form():
    # Query equal to its key and orthogonal to every negative: -log(e^(1/t) / (e^(1/t) + K)).
    t, queue = 0.5, np.eye(4, dtype="float32")[1:]
    q = np.array([[2.0, 0.0, 0.0, 0.0]], "float32")
    assert float(_np(moco_loss(q, q, queue, t))[0]) == pytest.approx(-np.log(np.exp(2) / (np.exp(2) + 3)), rel=1e-6)


def test_enqueue_is_a_fifo_with_a_wrapping_pointer():
    rng = np.random.default_rng(1)
    start = _normalize(rng.normal(size=(6, 3)))
    reference = _FifoQueue(start)
    queue, pointer = start.astype("float32"), np.int32(0)
    for rows in (4, 4, 3, 6):  # wraps around twice, with a partial batch
        keys = rng.normal(size=(rows, 3))
        queue, pointer = enqueue(queue, pointer, keys.astype("float32"))
        reference.push(keys)
        np.testing.assert_allclose(_np(queue), np.stack(reference.rows), rtol=1e-5, atol=1e-6)
        assert int(_np(pointer)) == reference.pointer


def test_compute_loss_scores_the_old_queue_then_enqueues_the_keys_when_training():
    model = MoCoV2(tiny_encoder((8, 8, 1)), keras.layers.GaussianNoise(0.1, seed=0), **SMALL)
    model(tiny_images(2, 8))
    queue = _np(model.queue).copy()
    np.testing.assert_allclose(np.linalg.norm(queue, axis=1), 1.0, rtol=1e-5)  # a queue of unit keys from the start
    assert not model.queue.trainable and not model.queue_pointer.trainable and int(_np(model.queue_pointer)) == 0
    q, k = np.random.default_rng(2).normal(size=(2, 6, 8))
    y_pred = np.stack([q, k]).astype("float32")
    assert float(_np(model.compute_loss(y_pred=y_pred, training=False))) == pytest.approx(_reference_loss(q, k, queue, 0.5), rel=1e-5)
    np.testing.assert_array_equal(_np(model.queue), queue)  # evaluation leaves the queue alone
    assert float(_np(model.compute_loss(y_pred=y_pred, training=True))) == pytest.approx(_reference_loss(q, k, queue, 0.5), rel=1e-5)
    np.testing.assert_allclose(_np(model.queue)[:6], _normalize(k), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(_np(model.queue)[6:], queue[6:])
    assert int(_np(model.queue_pointer)) == 6


def test_fit_moves_the_queue_and_the_key_network():
    model = MoCoV2(tiny_encoder((8, 8, 1)), keras.layers.GaussianNoise(0.1, seed=0), base_momentum=0.9, **SMALL)
    model(tiny_images(2, 8))
    queue = _np(model.queue).copy()
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    model.fit(tiny_images(8, 8), batch_size=4, epochs=1, verbose=0)  # 2 steps of 4 keys
    changed = np.abs(_np(model.queue) - queue).sum(axis=1) > 0
    assert changed.tolist() == [True] * 8 + [False] * 8 and int(_np(model.queue_pointer)) == 8
    assert len(model.target_pairs()) == len(model.encoder.trainable_weights) + len(model.projector.trainable_weights)


def test_component_contract_and_the_queue_survives_a_round_trip(tmp_path):
    augmenter = get_registry().get("augmenter", "simclr")(blur_probability=0.0, seed=0)
    model = check_pretext(MoCoV2, SMALL, augmenter=augmenter, tmp_path=tmp_path)  # batch_size 8 from the context
    assert model.batch_size == 8 and {**SMALL, "batch_size": 8}.items() <= model.get_config().items()
    model.save(tmp_path / "moco.keras")
    loaded = keras.models.load_model(tmp_path / "moco.keras")
    np.testing.assert_array_equal(_np(loaded.queue), _np(model.queue))
    assert int(_np(loaded.queue_pointer)) == int(_np(model.queue_pointer)) == 8
    assert len(loaded.trainable_variables) == len(model.trainable_variables)


def test_registered_as_moco_v2():
    assert get_registry().get("pretext", "moco_v2") is MoCoV2


@pytest.mark.parametrize(
    "args, fragment",
    [
        ({"queue_size": 48}, "pretext.queue_size: expected a multiple of the global batch size 32 (at least one batch), got 48. Use e.g. queue_size: 64."),
        ({"queue_size": 16}, "pretext.queue_size: expected a multiple of the global batch size 32 (at least one batch), got 16"),
        ({"queue_size": 0}, "pretext.queue_size: expected an integer >= 1"),
        ({"base_momentum": 1.0}, "pretext.base_momentum: expected a momentum in [0, 1), got 1.0"),
        ({"base_momentum": -0.1}, "pretext.base_momentum: expected a momentum in [0, 1), got -0.1"),
        ({"temperature": -1}, "pretext.temperature"),
    ],
)
def test_bad_arguments_name_the_key(args, fragment):
    objects = {"encoder": tiny_encoder(), "augmenter": keras.layers.GaussianNoise(0.1)}
    with pytest.raises(RecipeError) as info:
        build_component("pretext", MoCoV2, args, context={"batch_size": 32}, objects=objects)
    assert fragment in str(info.value)


def test_without_an_augmenter_is_an_error_naming_augmenter():
    with pytest.raises(RecipeError, match=r"^augmenter: .*MoCoV2"):
        build_component("pretext", MoCoV2, SMALL, objects={"encoder": tiny_encoder(), "augmenter": None})


@pytest.mark.slow
def test_the_queue_is_updated_inside_the_jitted_step_on_jax():
    script = """
import numpy as np, keras
from kssl.pretext.moco_v2 import MoCoV2
from kssl.testing import tiny_encoder, tiny_images
model = MoCoV2(tiny_encoder((8, 8, 1)), keras.layers.GaussianNoise(0.1, seed=0), projection_dim=8, projection_hidden_dims=[16], queue_size=16,
               batch_size=4)
model(tiny_images(2, 8))
queue = np.array(model.queue)
model.compile(optimizer="adam", jit_compile=True)
loss = model.fit(tiny_images(8, 8), batch_size=4, epochs=1, verbose=0).history["loss"]
changed = (np.abs(np.array(model.queue) - queue).sum(axis=1) > 0).tolist()
assert np.isfinite(loss[-1]) and changed == [True] * 8 + [False] * 8 and int(model.queue_pointer.numpy()) == 8, (loss, changed)
print("JAX-OK")
"""
    run_on_jax(script, timeout=240)
