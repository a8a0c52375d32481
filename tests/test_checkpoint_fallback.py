"""A damaged .keras file: a clear error from kssl.load_model and `kssl eval`, checkpoints verified before the previous
one is pruned, and resume falling back to the newest readable checkpoint."""

import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest
import yaml
from tiny_runs import STEPS, spy_on_fit, tiny_mlp, weights

import kssl
from kssl.callbacks import EpochCheckpoint, checkpoints
from kssl.saving import ModelFileError

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KSSL_DISABLE_PLUGINS": "1"}


def _small_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def _truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def test_a_truncated_keras_file_is_a_clear_error_naming_it(tmp_path):
    path = tmp_path / "model.keras"
    _small_model().save(path)
    _truncate(path)
    with pytest.raises(ModelFileError) as info:
        kssl.load_model(path)
    message = str(info.value)
    assert isinstance(info.value, kssl.KsslError) and info.value.path == path
    assert str(path) in message and "truncated or damaged" in message and "--resume" in message
    assert "File not found" not in message  # Keras's own words for a file that exists


def test_a_keras_file_with_a_corrupted_member_fails_its_checksum(tmp_path):
    path = tmp_path / "model.keras"
    _small_model().save(path)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("model.weights.h5")
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)  # the member's stored bytes
    data[start + info.compress_size // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="model.weights.h5.*checksum"):
        kssl.load_model(path)


def test_kssl_eval_on_a_damaged_model_exits_2_with_one_paragraph(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "recipe.yaml").write_text(yaml.safe_dump(tiny_mlp(eval=[{"type": "knn", "k": 5}])))
    (run_dir / "model.keras").write_bytes(b"PK\x03\x04 not really a zip")
    out = subprocess.run([sys.executable, "-m", "kssl", "eval", str(run_dir)], capture_output=True, text=True, env=ENV, timeout=300)
    assert out.returncode == 2, out.stderr[-2000:]
    error = [line for line in out.stderr.splitlines() if line.startswith("Error:")]
    assert len(error) == 1 and str(run_dir / "model.keras") in error[0] and "truncated or damaged" in error[0], out.stderr[-2000:]
    assert "Traceback" not in out.stderr and "File not found" not in out.stderr  # Keras's words for a file that exists


def test_the_previous_checkpoint_stays_until_the_new_one_reads_back(tmp_path, monkeypatch):
    import kssl.callbacks

    real = kssl.callbacks.atomic_save_model
    calls = []

    def save_then_damage(model, path):  # the second epoch's file comes out truncated (e.g. a failing disk)
        real(model, path)
        calls.append(path.name)
        if len(calls) == 2:
            _truncate(path)

    monkeypatch.setattr(kssl.callbacks, "atomic_save_model", save_then_damage)
    x = np.random.default_rng(0).normal(size=(40, 3)).astype("float32")
    model = _small_model()
    with pytest.warns(UserWarning, match="epoch-0002.keras failed its read-back check"):
        model.fit(x, x[:, :2], batch_size=20, epochs=2, callbacks=[EpochCheckpoint(tmp_path)], verbose=0)
    assert [done for done, _ in checkpoints(tmp_path)] == [1]  # not pruned for a damaged newer one
    assert (tmp_path / "damaged-epoch-0002.keras").is_file()
    kssl.load_model(tmp_path / "epoch-0001.keras")  # and it is readable


@pytest.fixture(scope="module")
def two_epoch_run(tmp_path_factory):
    """A finished 2-epoch run whose checkpoints/ holds epoch-0001.keras (copied aside after epoch 1) and epoch-0002.keras."""
    from kssl.training import resume, train

    root = tmp_path_factory.mktemp("runs")
    run_dir = train(tiny_mlp(epochs=1), output_dir=root)
    first = root / "epoch-0001.keras"
    shutil.copy(run_dir / "checkpoints" / "epoch-0001.keras", first)
    resume(run_dir, epochs=2)
    shutil.copy(first, run_dir / "checkpoints" / "epoch-0001.keras")
    return run_dir


def _interrupted_copy(run_dir, tmp_path):
    """The run as a crash after epoch 2's history row and checkpoint left it: no model, no metrics."""
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    for name in ("metrics.json", "model.keras", "encoder.keras"):
        (copy / name).unlink()
    return copy


def test_resume_falls_back_to_the_newest_readable_checkpoint(two_epoch_run, tmp_path, capsys, monkeypatch):
    from kssl.training import resume

    run_dir = _interrupted_copy(two_epoch_run, tmp_path)
    first = weights(kssl.load_model(run_dir / "checkpoints" / "epoch-0001.keras"))
    _truncate(run_dir / "checkpoints" / "epoch-0002.keras")
    seen = spy_on_fit(monkeypatch)
    resume(run_dir, epochs=3)
    err = capsys.readouterr().err
    assert "epoch-0002.keras cannot be read" in err and "resuming from epoch-0001.keras (1 epochs done)" in err, err
    [start] = seen
    assert start["initial_epoch"] == 1 and start["iterations"] == STEPS
    for a, b in zip(start["weights"], first, strict=True):
        np.testing.assert_array_equal(a, b)
    assert (run_dir / "checkpoints" / "damaged-epoch-0002.keras").is_file()
    assert [done for done, _ in checkpoints(run_dir / "checkpoints")] == [3]
    rows = list(csv.DictReader(open(run_dir / "history.csv")))
    assert [row["epoch"] for row in rows] == ["0", "1", "2"]  # epoch 1's row from before the crash was replaced
    summary = json.loads((run_dir / "metrics.json").read_text())
    assert summary["epochs"] == 3 and summary["epochs_run"] == 3 and summary["final_loss"] == pytest.approx(float(rows[-1]["loss"]))


def test_resume_with_every_checkpoint_damaged_starts_again_from_the_seed(two_epoch_run, tmp_path, capsys):
    from kssl.training import resume

    run_dir = _interrupted_copy(two_epoch_run, tmp_path)
    for _, path in checkpoints(run_dir / "checkpoints"):
        _truncate(path)
    resume(run_dir, epochs=1)
    err = capsys.readouterr().err
    assert "no readable checkpoint: starting from epoch 0" in err, err
    assert [row["epoch"] for row in csv.DictReader(open(run_dir / "history.csv"))] == ["0"]
