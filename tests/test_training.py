"""Training behaviour: learning, NaN stop, crash + resume, save/load in a fresh process, JAX."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import kssl

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KSSL_DISABLE_PLUGINS": "1"}


def _kssl(*args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "kssl", *map(str, args)], capture_output=True, text=True, env=env or ENV, timeout=timeout)


def test_simclr_learns_on_a_tiny_problem(tiny_recipe):
    from kssl.builder import build_all

    tiny_recipe["data"]["limit"] = 192
    built = build_all(tiny_recipe)
    x = built.data.x_train
    history = built.model.fit(x, batch_size=64, epochs=6, verbose=0)
    losses = history.history["loss"]
    assert np.isfinite(losses).all()
    assert losses[-1] < losses[0] - 0.2, losses  # the contrastive task is being learned
    acc = history.history["contrastive_accuracy"]
    assert acc[-1] > acc[0], acc


def test_build_returns_compiled_model_that_fits_raw_arrays(tiny_recipe):
    import keras

    model = kssl.build(tiny_recipe)
    assert isinstance(model, keras.Model) and model.compiled
    x = np.random.default_rng(0).uniform(size=(32, 16, 16, 1)).astype("float32")
    model.fit(x, batch_size=16, epochs=1, verbose=0)
    feats = model.encoder.predict(x, verbose=0)
    assert feats.shape[0] == 32 and feats.ndim == 2


def test_saved_model_reloads_in_fresh_process_without_custom_objects(tiny_recipe, tmp_path):
    model = kssl.build(tiny_recipe)
    x = np.random.default_rng(1).uniform(size=(4, 16, 16, 1)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "f.npy", model.encoder.predict(x, verbose=0))
    model.save(tmp_path / "m.keras")
    code = (
        "import numpy as np, kssl, keras  # importing kssl registers its classes\n"
        f"m = keras.models.load_model({str(tmp_path / 'm.keras')!r})\n"
        f"x = np.load({str(tmp_path / 'x.npy')!r}); f = np.load({str(tmp_path / 'f.npy')!r})\n"
        "assert 'kssl' in type(m).__module__, type(m)\n"
        "np.testing.assert_allclose(m.encoder.predict(x, verbose=0), f, rtol=1e-4, atol=1e-5)\n"
        "m.fit(x, epochs=1, verbose=0)\n"
        "print('reloaded', type(m).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "reloaded SimCLR" in out.stdout


def test_nan_loss_stops_with_a_clear_message(tiny_recipe, write_recipe, tmp_path):
    tiny_recipe["optimizer"] = {"type": "sgd", "learning_rate": 1.0e30, "momentum": 0.0}
    tiny_recipe["train"]["epochs"] = 3
    tiny_recipe["eval"] = []
    out = _kssl("train", write_recipe(tiny_recipe), "--output-dir", tmp_path / "runs")
    assert out.returncode == 1, out.stderr[-2000:]
    assert "the loss became" in out.stderr and "Traceback" not in out.stderr
    [run_dir] = list((tmp_path / "runs").iterdir())
    assert (run_dir / "recipe.yaml").is_file()
    assert not (run_dir / "model.keras").exists()  # no model from a diverged run
    assert not list((run_dir / "checkpoints").glob("*.keras"))  # it diverged in its first epoch
    # No claim of a checkpoint that does not exist, and advice that fits every method (not SimCLR's temperature).
    assert "no checkpoint was written" in out.stderr and "last good checkpoint" not in out.stderr, out.stderr[-2000:]
    assert "optimizer.learning_rate" in out.stderr and "temperature" not in out.stderr


def test_the_nan_message_names_the_checkpoint_only_when_there_is_one(tmp_path):
    from kssl.callbacks import EpochCheckpoint
    from kssl.training import _diverged

    without = _diverged(tmp_path, 0, 3, float("nan"))
    assert "epoch 1, batch 4" in without and "no checkpoint was written" in without and "checkpoint," not in without
    checkpoint = EpochCheckpoint(tmp_path / "checkpoints")
    checkpoint.set_model(_dense())
    checkpoint.on_epoch_end(1, {"loss": 1.0})
    with_one = _diverged(tmp_path, 2, 0, float("inf"))
    assert f"The last good checkpoint, {tmp_path / 'checkpoints' / 'epoch-0002.keras'} (2 epochs), is kept" in with_one, with_one


def _dense():
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_kill_9_then_resume_loses_at_most_one_epoch(tiny_recipe, write_recipe, tmp_path):
    tiny_recipe["train"]["epochs"] = 100000  # never finishes: it is killed
    tiny_recipe["eval"] = [{"type": "knn", "k": 5}]
    out_dir = tmp_path / "runs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kssl", "train", str(write_recipe(tiny_recipe)), "--output-dir", str(out_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=ENV,  # unread pipes would fill and block it
    )
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            # only the newest checkpoint is kept, and a tiny epoch can take less than a poll
            if any(int(p.stem.split("-")[1]) >= 2 for p in out_dir.glob("*/checkpoints/epoch-*.keras")):
                break
            time.sleep(0.2)
        else:
            pytest.fail("no checkpoint appeared in time")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    [run_dir] = list(out_dir.iterdir())
    from kssl.callbacks import latest_checkpoint

    _, done = latest_checkpoint(run_dir / "checkpoints")
    assert done >= 2 and not (run_dir / "metrics.json").exists()
    # epoch-NNNN.keras holds NNNN completed epochs (0-based 0..done-1); history.csv logs each epoch just before
    # its checkpoint is written. Before resuming, the log must cover every checkpointed epoch and be at most one
    # epoch ahead of the checkpoint: the kill lost at most one epoch of progress.
    logged = [int(row["epoch"]) for row in csv.DictReader(open(run_dir / "history.csv"))]
    assert logged and done - 1 <= logged[-1] <= done, (logged, done)
    out = _kssl("train", "--resume", run_dir, "--epochs", done + 1)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == str(run_dir)  # progress first, the run directory last
    assert f"resuming from epoch-{done:04d}.keras ({done} epochs done)" in out.stderr, out.stderr[-2000:]  # not from scratch
    epochs = [int(row["epoch"]) for row in csv.DictReader(open(run_dir / "history.csv"))]
    assert epochs == list(range(done + 1))  # 0-based, each epoch once: nothing skipped, nothing repeated
    summary = json.loads((run_dir / "metrics.json").read_text())
    assert summary["epochs"] == done + 1 and "knn_accuracy" in summary["metrics"]


def test_simclr_trains_on_jax(write_recipe, tmp_path):
    pytest.importorskip("jax")
    from tiny_runs import tiny_mlp

    recipe = tiny_mlp(epochs=3, eval=[{"type": "knn", "k": 5}])
    out = _kssl("train", write_recipe(recipe), "--backend", "jax", "--output-dir", tmp_path / "runs", env={**ENV, "KERAS_BACKEND": "jax"})
    assert out.returncode == 0, out.stderr[-3000:]
    [run_dir] = (tmp_path / "runs").iterdir()
    summary = json.loads((run_dir / "metrics.json").read_text())
    assert summary["backend"] == "jax"
    losses = [float(row["loss"]) for row in csv.DictReader(open(run_dir / "history.csv"))]
    assert losses[-1] < losses[0] - 0.2, losses  # it learns on JAX (about 4.20 -> 3.83)
    # Against the weights it started from (about 0.59 -> 0.71 here), not against chance: the random-init encoder
    # alone scores far above chance on digits. A collapsed or broken encoder would fall well below it.
    metrics = summary["metrics"]
    assert metrics["knn_accuracy"] > metrics["random_init.knn_accuracy"] - 0.1, metrics
