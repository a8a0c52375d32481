"""DINO: a training step on 2 replicas equals the 1-device step on the same global batch.

The loss is per sample, but the centre is a statistic of the global batch (the mean of the
teacher's outputs), updated in the training graph; the teacher is a momentum copy updated after
the step. The comparison reuses tests/distribution_steps.py (2 logical CPUs with
tf.distribute.MirroredStrategy; JAX DataParallel over 2 forced host devices) and checks the loss,
the gradients and every non-trainable weight after the step: the centre, the teacher's weights and
the batch-norm statistics. Run as a script, this file prints the comparison as JSON::

    python tests/test_dino_replicas.py tensorflow   # or jax
"""

import sys

if __name__ == "__main__":
    import distribution_steps as steps  # first: picks the backend (sys.argv[1]) and splits the CPU

import json

import numpy as np
import pytest
import test_distribution
from keras import ops

from kssl.augment.multi_crop import MultiCrop
from kssl.pretext.dino import DINO


class MirrorCrops(MultiCrop):
    """Deterministic multi-crop: the image and its mirror image as global views, the image upside down as each local view."""

    def call(self, images, training=None):
        views = [images, ops.flip(images, axis=2)]
        return views + [ops.flip(images, axis=1)] * self.local_crops if training else views


class MirrorViewsDINO(DINO):
    """DINO with the deterministic views of :class:`MirrorCrops`."""

    needs_augmenter = False  # the views are made here

    def build_heads(self, input_shape):
        self.crops = MirrorCrops(local_crops=self.local_crops)
        super().build_heads(input_shape)


def _steps(backend: str) -> dict:
    """This file run as the steps script of test_distribution's runner."""
    return test_distribution._run_steps(backend, script=__file__)


def _assert_same_step_and_centre(result):
    test_distribution._assert_same_step(result)  # the non-trainable weights include the centre and the teacher
    assert result["center_moved"] > 1e-4 and result["teacher_moved"] > 1e-6, result
    assert result["center_diff"] < 1e-6, result


def test_tensorflow_two_replicas_equal_one_device():
    _assert_same_step_and_centre(_steps("tensorflow"))


@pytest.mark.slow
def test_jax_data_parallel_equals_one_device():
    pytest.importorskip("jax")
    result = _steps("jax")
    _assert_same_step_and_centre(result)
    assert result["jit_compile"] is True


if __name__ == "__main__":
    steps.PRETEXTS["dino"] = {
        "type": "test_dino",
        "out_dim": 12,
        "head_hidden_dims": [16],
        "bottleneck_dim": 8,
        "batch_norm": True,
        "local_crops": 1,
        "base_momentum": 0.9,
    }
    registry = steps.get_registry()
    registry.add("pretext", "test_dino", MirrorViewsDINO)
    x = np.random.default_rng(0).random((16, 8, 8, 1)).astype("float32")
    models = []
    original = steps.one_step

    def recording_step(model, data):
        start = (np.asarray(ops.convert_to_numpy(model.center)), [np.asarray(ops.convert_to_numpy(w)) for w in model.target_encoder.weights])
        result = original(model, data)
        models.append((start, np.asarray(ops.convert_to_numpy(model.center)), [np.asarray(ops.convert_to_numpy(w)) for w in model.target_encoder.weights]))
        return result

    steps.one_step = recording_step
    report = steps.compare("dino", x, registry)
    (c0, t0), c1, t1 = models[0]
    report["center_moved"] = float(np.abs(c1 - c0).max())
    report["teacher_moved"] = max(float(np.abs(a - b).max()) for a, b in zip(t0, t1))
    report["center_diff"] = float(np.abs(models[1][1] - c1).max())
    print("RESULT " + json.dumps(report))
    sys.exit(0)
