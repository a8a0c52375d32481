"""CLIP and SigLIP: a training step on 2 replicas equals the 1-device step on the same global batch.

Every text of the global batch is a negative of every image (and the other way round), so each
replica must gather the embeddings of all replicas before the loss, and the loss must be scaled
as Keras expects. The comparison reuses tests/distribution_steps.py (2 logical CPUs with
tf.distribute.MirroredStrategy; JAX DataParallel over 2 forced host devices): run as a script,
this file prints it as JSON, in a fresh process because the CPU is split before the backend starts::

    python tests/test_clip_replicas.py tensorflow   # or jax

Each image has one caption, so both runs pair the same texts with the same images.
"""

import os
import sys

if __name__ == "__main__":
    import distribution_steps as steps  # first: picks the backend (sys.argv[1]) and splits the CPU

import json

import pytest
import test_distribution

TEXT_TOWER = {"type": "text_transformer", "width": 8, "depth": 1, "num_heads": 2}


LOSSES = "KSSL_TEST_CLIP_LOSSES"  # which losses the script compares (each costs two model builds)


def _steps(backend: str, losses, monkeypatch) -> dict:
    """This file run as the steps script of test_distribution's runner."""
    monkeypatch.setenv(LOSSES, ",".join(losses))
    return test_distribution._run_steps(backend, script=__file__)


def _assert_same(result: dict):
    test_distribution._assert_same_step(result)
    assert result["metrics_2"]["pair_accuracy"] == pytest.approx(result["metrics_1"]["pair_accuracy"])
    assert result["metrics_2"]["logit_scale"] == pytest.approx(result["metrics_1"]["logit_scale"])


@pytest.mark.slow  # subprocess with 2 CPU replicas, ~14 s under load
def test_tensorflow_two_replicas_equal_one_device(monkeypatch):
    _assert_same(_steps("tensorflow", ["clip"], monkeypatch)["clip"])


@pytest.mark.slow
def test_tensorflow_two_replicas_equal_one_device_siglip(monkeypatch):
    _assert_same(_steps("tensorflow", ["siglip"], monkeypatch)["siglip"])


# JAX DataParallel shards global arrays: nothing is gathered, and both losses share compute_loss; CLIP alone
# keeps the slow suite short (SigLIP on JAX matched too when measured: `python tests/test_clip_replicas.py jax`).
@pytest.mark.slow
def test_jax_data_parallel_equals_one_device(monkeypatch):
    pytest.importorskip("jax")
    result = _steps("jax", ["clip"], monkeypatch)["clip"]
    _assert_same(result)
    assert result["jit_compile"] is True


if __name__ == "__main__":
    import numpy as np

    from kssl.data.shape_scenes import shape_scenes
    from kssl.data.splits import DataSplits

    scenes = shape_scenes(num_train=16, num_test=2, image_size=16, captions_per_image=1)
    captions = scenes.context["train_captions"]
    # compare() builds its DataSplits from the images alone: give them their captions (what the dataset's context carries).
    steps.DataSplits = lambda **kwargs: DataSplits(**kwargs, context={"train_captions": captions})
    losses = os.environ.get(LOSSES, "clip,siglip").split(",")
    for loss in losses:
        steps.PRETEXTS[loss] = {"type": "clip", "vocabulary_size": 100, "text_encoder": TEXT_TOWER, "projection_dim": 8, "loss": loss}
    registry = steps.get_registry()
    x = np.asarray(scenes.x_train, "float32")
    print("RESULT " + json.dumps({loss: steps.compare(loss, x, registry) for loss in losses}))
    sys.exit(0)
