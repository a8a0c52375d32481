"""Sinkhorn, DEC and SwAV on the JAX backend (in a subprocess: this test process runs TensorFlow)."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

LOSSES = textwrap.dedent(
    """
    import json
    import numpy as np, keras
    from kssl.losses.dec_loss import DECLoss, student_t_assignment, target_distribution
    from kssl.losses.sinkhorn import sinkhorn
    from kssl.losses.swav_loss import SwAVLoss
    assert keras.backend.backend() == "jax"
    s = np.random.default_rng(0).uniform(-1, 1, size=(6, 3)).astype("float32")
    q = student_t_assignment(s[:, :2], s[:3, :2])
    codes = np.stack([np.asarray(sinkhorn(s)), np.asarray(sinkhorn(s[::-1]))], axis=1)
    views = np.stack([s, s[::-1]], axis=1)
    out = {"sinkhorn": np.asarray(sinkhorn(s, 0.1, 5)).tolist(), "target": np.asarray(target_distribution(q)).tolist(),
           "dec": float(DECLoss()(target_distribution(q), q)), "swav": float(SwAVLoss(0.1)(codes, views))}
    print("RESULT" + json.dumps(out))
    """
)

TRAINING = textwrap.dedent(
    """
    import json
    import numpy as np, keras
    from kssl.builder import build_all
    assert keras.backend.backend() == "jax"
    out = {}
    common = {"seed": 0, "optimizer": {"type": "adam"}, "train": {"epochs": 2, "verbose": 0}, "eval": []}
    dec = build_all({**common, "name": "d", "data": {"type": "digits", "image_size": 8, "limit": 48, "batch_size": 16},
                     "encoder": {"type": "mlp", "hidden_units": [8]},
                     "pretext": {"type": "dec", "n_clusters": 3, "embedding_dim": 2, "decoder_units": [8],
                                 "pretrain_epochs": 1, "kmeans_restarts": 1, "tolerance": 0.0}})
    h = dec.model.fit(dec.data.x_train, epochs=2, batch_size=16, verbose=0)
    out["dec_phase"] = h.history["dec_phase"]
    out["dec_loss"] = h.history["loss"]
    out["dec_clusters"] = int(dec.model.predict_clusters(dec.data.x_train).max()) < 3
    out["dec_n_clusters_used"] = len(np.unique(dec.model.predict_clusters(dec.data.x_train)))
    out["dec_steps_since_switch"] = int(keras.ops.convert_to_numpy(dec.model.optimizer.iterations))
    out["dec_steps_per_epoch"] = -(-len(dec.data.x_train) // 16)
    swav = build_all({**common, "name": "s", "data": {"type": "digits", "image_size": 8, "limit": 32, "batch_size": 16},
                      "augmenter": {"type": "simclr", "crop_scale": [0.5, 1.0], "blur_probability": 0.0},
                      "encoder": {"type": "mlp", "hidden_units": [8]},
                      "pretext": {"type": "swav", "n_prototypes": 4, "projection_dim": 4, "projection_hidden_dims": [8],
                                  "n_small_crops": 1}})
    h = swav.model.fit(swav.data.x_train, epochs=1, batch_size=16, verbose=0)
    out["swav_loss"] = h.history["loss"]
    out["swav_entropy"] = h.history["prototype_entropy"]
    print("RESULT" + json.dumps(out))
    """
)


def _run_on_jax(script):
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.split("RESULT", 1)[1])


def test_losses_on_jax_equal_tensorflow():
    import keras

    from kssl.losses.dec_loss import DECLoss, student_t_assignment, target_distribution
    from kssl.losses.sinkhorn import sinkhorn
    from kssl.losses.swav_loss import SwAVLoss

    out = _run_on_jax(LOSSES)
    to_np = keras.ops.convert_to_numpy
    s = np.random.default_rng(0).uniform(-1, 1, size=(6, 3)).astype("float32")
    q = student_t_assignment(s[:, :2], s[:3, :2])
    np.testing.assert_allclose(out["sinkhorn"], to_np(sinkhorn(s, 0.1, 5)), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(out["target"], to_np(target_distribution(q)), rtol=1e-4, atol=1e-6)
    assert out["dec"] == pytest.approx(float(to_np(DECLoss()(target_distribution(q), q))), rel=1e-4)
    codes = np.stack([to_np(sinkhorn(s)), to_np(sinkhorn(s[::-1]))], axis=1)
    assert out["swav"] == pytest.approx(float(to_np(SwAVLoss(0.1)(codes, np.stack([s, s[::-1]], axis=1)))), rel=1e-4)


@pytest.mark.slow
def test_dec_and_swav_train_on_jax():
    out = _run_on_jax(TRAINING)
    assert out["dec_phase"] == [0.0, 1.0] and np.isfinite(out["dec_loss"]).all() and out["dec_clusters"]
    assert out["dec_n_clusters_used"] > 1  # not everything collapsed into one cluster
    assert out["dec_steps_since_switch"] == out["dec_steps_per_epoch"]  # the optimizer restarted at the KL phase
    assert np.isfinite(out["swav_loss"]).all() and 0.0 <= out["swav_entropy"][0] <= 1.0 + 1e-6
