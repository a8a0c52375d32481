"""Barlow Twins: a training step on 2 replicas equals the 1-device step on the same global batch.

The loss is a statistic of the batch (each feature standardised over it, then the
cross-correlation), so each replica must see the global batch and the result must be
scaled as Keras expects. The comparison reuses tests/distribution_steps.py (2 logical
CPUs with tf.distribute.MirroredStrategy; JAX DataParallel over 2 forced host devices):
run as a script, this file prints it as JSON, in a fresh process because the CPU is
split before the backend starts::

    python tests/test_barlow_twins_replicas.py tensorflow   # or jax
"""

import sys

if __name__ == "__main__":
    import distribution_steps as steps  # first: picks the backend (sys.argv[1]) and splits the CPU

import json

import numpy as np
import pytest
import test_distribution
from keras import ops

from kssl.pretext.barlow_twins import BarlowTwins


class MirrorViewsBarlowTwins(BarlowTwins):
    """Barlow Twins whose two views are the image and its mirror image (deterministic)."""

    needs_augmenter = False  # the views are made here, not by an augmenter

    def views(self, x, n=2, training=False):
        return [x, ops.flip(x, axis=2)]


def _steps(backend: str) -> dict:
    """This file run as the steps script of test_distribution's runner."""
    return test_distribution._run_steps(backend, script=__file__)


def test_tensorflow_two_replicas_equal_one_device():
    test_distribution._assert_same_step(_steps("tensorflow"))


@pytest.mark.slow
def test_jax_data_parallel_equals_one_device():
    pytest.importorskip("jax")
    result = _steps("jax")
    test_distribution._assert_same_step(result)
    assert result["jit_compile"] is True


if __name__ == "__main__":
    steps.PRETEXTS["barlow_twins"] = {"type": "test_barlow_twins", "projection_dim": 8, "projection_hidden_dims": [16], "redundancy_weight": 0.05}
    registry = steps.get_registry()
    registry.add("pretext", "test_barlow_twins", MirrorViewsBarlowTwins)
    x = np.random.default_rng(0).random((16, 8, 8, 1)).astype("float32")
    print("RESULT " + json.dumps(steps.compare("barlow_twins", x, registry)))
    sys.exit(0)
