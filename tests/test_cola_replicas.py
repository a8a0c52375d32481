"""COLA: a training step on 2 replicas equals the 1-device step on the same global batch.

Every anchor's negatives are the other clips of the *global* batch, so each replica must gather
the projections of all replicas and the loss must be scaled as Keras expects. The comparison
reuses tests/distribution_steps.py (2 logical CPUs with tf.distribute.MirroredStrategy; JAX
DataParallel over 2 forced host devices) with the audio_cnn encoder on waveforms: run as a
script, this file prints it as JSON, in a fresh process because the CPU is split before the
backend starts::

    python tests/test_cola_replicas.py tensorflow   # or jax
"""

import sys

if __name__ == "__main__":
    import distribution_steps as steps  # first: picks the backend (sys.argv[1]) and splits the CPU

import json

import pytest
import test_distribution

from kssl.pretext.cola import COLA


class FixedSegmentsCOLA(COLA):
    """COLA whose two segments are always each clip's first and last ``segment_length`` samples (deterministic)."""

    def segments(self, x, training=False):
        return super().segments(x, training=False)


def _steps(backend: str) -> dict:
    """This file run as the steps script of test_distribution's runner."""
    return test_distribution._run_steps(backend, script=__file__)


@pytest.mark.slow  # subprocess with 2 CPU replicas, ~9 s under load
def test_tensorflow_two_replicas_equal_one_device():
    result = _steps("tensorflow")
    test_distribution._assert_same_step(result)
    assert result["metrics_2"]["contrastive_accuracy"] == pytest.approx(result["metrics_1"]["contrastive_accuracy"])


@pytest.mark.slow
def test_jax_data_parallel_equals_one_device():
    pytest.importorskip("jax")
    result = _steps("jax")
    test_distribution._assert_same_step(result)
    assert result["jit_compile"] is True


def _audio_recipe(recipe):
    """distribution_steps' recipe with the audio_cnn encoder (its own is an image CNN)."""

    def audio(*args, **kwargs):
        spec = recipe(*args, **kwargs)
        spec["encoder"] = {"type": "audio_cnn", "sample_rate": 8000, "filters": [4, 8], "n_mels": 16}
        return spec

    return audio


if __name__ == "__main__":
    from test_cola import noisy_tones

    steps.recipe = _audio_recipe(steps.recipe)
    steps.PRETEXTS["cola"] = {"type": "test_cola", "segment_seconds": 0.1, "sample_rate": 8000, "projection_dim": 8}
    registry = steps.get_registry()
    registry.add("pretext", "test_cola", FixedSegmentsCOLA)
    x = noisy_tones(16, samples=2000)[0]
    print("RESULT " + json.dumps(steps.compare("cola", x, registry)))
    sys.exit(0)
