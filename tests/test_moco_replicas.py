"""MoCo v2 and v3: a training step on 2 replicas equals the 1-device step on the same global batch.

MoCo v3 takes its negatives from the keys of the global batch; MoCo v2 scores queries against a queue
and enqueues the keys of the global batch. Both must gather across replicas under tf.distribute. The
comparison reuses tests/distribution_steps.py (2 logical CPUs with tf.distribute.MirroredStrategy; JAX
DataParallel over 2 forced host devices) and checks the loss, the weight change of one SGD step (minus the
gradient), and every non-trainable weight afterwards: the momentum network moved by the callback, batch-norm
statistics, and MoCo v2's queue and pointer. Run as a script, this file prints it as JSON, in a fresh process
because the CPU is split before the backend starts::

    python tests/test_moco_replicas.py tensorflow   # or jax
"""

import sys

if __name__ == "__main__":
    import distribution_steps as steps  # first: picks the backend (sys.argv[1]) and splits the CPU

import json

import numpy as np
import pytest
import test_distribution
from keras import ops

from kssl.pretext.moco_v2 import MoCoV2
from kssl.pretext.moco_v3 import MoCoV3


class MirrorViewsMoCoV2(MoCoV2):
    """MoCo v2 whose two views are the image and its mirror image (deterministic, so no augmenter needed)."""

    needs_augmenter = False

    def views(self, x, n=2, training=False):
        return [x, ops.flip(x, axis=2)]


class MirrorViewsMoCoV3(MoCoV3):
    """MoCo v3 whose two views are the image and its mirror image."""

    needs_augmenter = False

    def views(self, x, n=2, training=False):
        return [x, ops.flip(x, axis=2)]


def _steps(backend: str) -> dict:
    """This file run as the steps script of test_distribution's runner."""
    return test_distribution._run_steps(backend, script=__file__)


def _assert_same_steps(result: dict):
    for name in ("moco_v2", "moco_v3"):
        step = result[name]
        assert step["replicas"] == 2
        assert step["loss_2"] == pytest.approx(step["loss_1"], rel=1e-5, abs=1e-6)
        # SGD with learning rate 1 and no momentum: the weight change of the step is minus the gradient.
        assert step["grad_scale"] > 1e-3 and step["grad_diff"] <= 1e-4 * step["grad_scale"], step
        # Key network (EMA of the stepped weights), batch-norm statistics, queue of unit keys: float32 round-off only.
        assert step["non_trainable"] > 0 and step["state_diff"] < 1e-5, step
    # The momentum update and the queue did move, so state_diff (every non-trainable weight) compared something.
    assert result["moved"]["target"] > 1e-6 and result["moved"]["queue_rows"] == 16 and result["moved"]["pointer"] == 16, result["moved"]


def test_tensorflow_two_replicas_equal_one_device():
    _assert_same_steps(_steps("tensorflow"))


@pytest.mark.slow
def test_jax_data_parallel_equals_one_device():
    pytest.importorskip("jax")
    result = _steps("jax")
    _assert_same_steps(result)
    assert result["moco_v2"]["jit_compile"] is True


def _moved(registry, x) -> dict:
    """How one 1-device step moved the key network and the queue (rows changed, pointer)."""
    data = steps.DataSplits(x_train=x, batch_size=len(x))
    model = steps.build_model(steps.recipe("moco_v2", "none", steps.BACKEND == "jax"), data, registry)
    queue, targets = ops.convert_to_numpy(model.queue), [ops.convert_to_numpy(t) for _, t in model.target_pairs()]
    model.fit(x, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    return {
        "target": max(float(np.abs(ops.convert_to_numpy(t) - t0).max()) for t0, (_, t) in zip(targets, model.target_pairs())),
        "queue_rows": int((np.abs(ops.convert_to_numpy(model.queue) - queue).sum(axis=1) > 0).sum()),
        "pointer": int(ops.convert_to_numpy(model.queue_pointer)),
    }


if __name__ == "__main__":
    small = {"projection_dim": 8, "projection_hidden_dims": [16], "temperature": 0.5, "base_momentum": 0.9}
    steps.PRETEXTS["moco_v2"] = {"type": "test_moco_v2", **small, "queue_size": 32}
    steps.PRETEXTS["moco_v3"] = {"type": "test_moco_v3", **small, "predictor_hidden_dims": [16]}
    registry = steps.get_registry()
    registry.add("pretext", "test_moco_v2", MirrorViewsMoCoV2)
    registry.add("pretext", "test_moco_v3", MirrorViewsMoCoV3)
    x = np.random.default_rng(0).random((16, 8, 8, 1)).astype("float32")
    report = {name: steps.compare(name, x, registry) for name in ("moco_v2", "moco_v3")}
    report["moved"] = _moved(registry, x)
    print("RESULT " + json.dumps(report))
    sys.exit(0)
