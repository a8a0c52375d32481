"""Training on a streamed image folder: kssl train end to end, resume offsets, corrupt files, and two workers' shards."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from stream_images import write_folder

import kssl.training
from kssl.data.image_stream import ImageStream
from kssl.data.stream_input import stream_fit_input
from kssl.errors import KsslError
from kssl.training import fit_input, train

REPO = Path(__file__).resolve().parents[1]


def recipe(folder, epochs=3, **data) -> dict:
    return {
        "name": "streamed",
        "seed": 0,
        "data": {"type": "image_folder", "path": str(folder), "image_size": 8, "batch_size": 32, "stream": True, **data},
        "augmenter": {"type": "simclr", "crop_scale": [0.5, 1.0], "blur_probability": 0.0},
        "encoder": {"type": "mlp", "hidden_units": [32]},
        "pretext": {"type": "simclr", "projection_dim": 8, "projection_hidden_dims": [16], "temperature": 0.2},
        "optimizer": {"type": "adam", "learning_rate": 1.0e-2},
        "train": {"epochs": epochs, "log_images": 2, "verbose": 0},
        "eval": [{"type": "knn", "k": 5}],
    }


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    write_folder(root, per_class=150, size=12)  # 300 files, every third a JPEG
    return root


@pytest.mark.slow  # a whole kssl train on a streamed folder, ~8 s under load
def test_kssl_train_streams_a_folder_learns_and_scores_it(folder, tmp_path, capsys):
    run_dir = train(recipe(folder), output_dir=tmp_path)
    assert "240 training images, streamed from disk" in capsys.readouterr().err
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["train_samples"] == 240 and metrics["epochs_run"] == 3
    assert 0.5 < metrics["metrics"]["knn_accuracy"] <= 1.0  # 60 held-out images, two classes
    losses = [float(row["loss"]) for row in csv.DictReader(open(run_dir / "history.csv"))]
    assert len(losses) == 3 and losses[-1] < losses[0] - 0.1, losses  # it learned: the contrastive loss fell


def _ids(dataset, steps) -> list[bytes]:
    """A fingerprint of each of the first ``steps`` batches."""
    return [np.asarray(batch).tobytes() for batch in dataset.take(steps)]


@pytest.mark.parametrize("steps_per_epoch", [None, 5])
def test_a_resumed_run_feeds_exactly_the_batches_the_interrupted_one_had_left(folder, steps_per_epoch):
    """Epoch e of a run resumed at e is epoch e of the uninterrupted run: nothing skipped, nothing repeated."""
    stream = ImageStream.from_files(sorted(folder.rglob("*.png"))[:50], image_size=4)  # 50 samples, batches of 16: 4 per pass
    model = SimpleNamespace(has_data_pipeline=lambda: False)
    whole, options = stream_fit_input(model, stream, 16, seed=3, steps_per_epoch=steps_per_epoch)
    steps = options["steps_per_epoch"]
    assert steps == (steps_per_epoch or 4)
    resumed, _ = fit_input(model, stream, 16, seed=3, steps_per_epoch=steps_per_epoch, initial_epoch=2)  # what resume calls
    assert _ids(resumed, 2 * steps) == _ids(whole, 4 * steps)[2 * steps :]


@pytest.mark.slow
def test_kssl_train_resumes_a_streamed_run_at_the_interrupted_epoch(folder, tmp_path, monkeypatch):
    from tiny_runs import Killed, kill_at_epoch_end

    from kssl.training import resume

    seen = []
    real = kssl.training.stream_fit_input

    def spy(model, stream, batch_size, shuffle, seed, steps_per_epoch, initial_epoch):
        seen.append(initial_epoch)
        return real(model, stream, batch_size, shuffle, seed, steps_per_epoch, initial_epoch)

    monkeypatch.setattr(kssl.training, "stream_fit_input", spy)
    with monkeypatch.context() as m:
        kill_at_epoch_end(m, 1)
        with pytest.raises(Killed):
            train(recipe(folder, epochs=2, limit=64), output_dir=tmp_path)
    [run_dir] = tmp_path.iterdir()
    resume(run_dir)
    assert seen == [0, 1]  # the resumed run's pipeline starts at epoch 1's permutation
    rows = list(csv.DictReader(open(run_dir / "history.csv")))
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    assert json.loads((run_dir / "metrics.json").read_text())["epochs_run"] == 2


def test_a_task_with_its_own_pipeline_cannot_stream(folder):
    stream = ImageStream.from_files(sorted(folder.rglob("*.png"))[:4], image_size=4)
    with pytest.raises(KsslError, match="stream: false"):
        stream_fit_input(SimpleNamespace(has_data_pipeline=lambda: True), stream, 2)


def _damage_body(path):
    data = path.read_bytes()
    path.write_bytes(data[:16] + b"\x00" * (len(data) - 28) + data[-12:])


def test_a_file_that_fails_to_decode_mid_training_stops_the_run_named(tmp_path):
    images = tmp_path / "images"
    write_folder(images, per_class=40, size=8)
    _damage_body(images / "vertical" / "v0007.png")  # passes the quick check; only decoding finds it
    with pytest.raises(KsslError, match=r"v0007\.png.*on_error: skip"):
        train(recipe(images, epochs=1), output_dir=tmp_path / "runs")
    assert not any((tmp_path / "runs").iterdir())  # nothing half-written


def test_skipped_images_train_but_features_need_every_sample(tmp_path):
    import keras

    from kssl.inference import predict

    paths = write_folder(tmp_path, per_class=10, size=8)
    _damage_body(paths[13])
    stream = ImageStream.from_files(paths, image_size=8, on_error="skip")
    assert sum(len(b) for b in stream.dataset(8, seed=0)) == 19  # training leaves it out
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(2)])
    with pytest.raises(KsslError, match=rf"1 image\(s\) could not be decoded while computing features.*{paths[13].name}"):
        predict(model, stream, batch_size=8)


@pytest.mark.slow
def test_a_pretext_task_fits_a_stream_directly(folder):
    from kssl.builder import build_all

    built = build_all(recipe(folder, epochs=1, limit=64))
    assert isinstance(built.data.x_train, ImageStream)
    history = built.model.fit(built.data.x_train, epochs=2, batch_size=32, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
    features = built.model.embed(built.data.x_test, batch_size=16)
    assert features.shape[0] == len(built.data.x_test) == 60


WORKER = """
import itertools, json, os, sys
import numpy as np
from types import SimpleNamespace
if os.environ["KERAS_BACKEND"] == "tensorflow":
    import tensorflow as tf
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    model = SimpleNamespace(has_data_pipeline=lambda: False, _distribute_strategy=strategy)
    local = strategy.experimental_local_results
else:
    import jax
    jax.distributed.initialize(os.environ["COORDINATOR"], num_processes=2, process_id=int(os.environ["INDEX"]))
    model, local = SimpleNamespace(has_data_pipeline=lambda: False), lambda batch: [batch]
from kssl.data.image_stream import ImageStream
from kssl.data.stream_input import stream_fit_input
stream = ImageStream.from_files(json.loads(sys.argv[1]), image_size=8)
dataset, options = stream_fit_input(model, stream, 8, seed=7, initial_epoch=1)
parts = [np.asarray(part) for batch in itertools.islice(iter(dataset), options["steps_per_epoch"]) for part in local(batch)]
seen = [int(v) for part in parts for v in np.rint(part[:, 0, 0, 0] * 255)]
open(sys.argv[2], "w").write(json.dumps({"seen": seen, "steps": options["steps_per_epoch"]}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_two_workers_read_disjoint_shards_that_cover_every_sample_once(tmp_path, backend):
    """Two worker processes on 127.0.0.1 (TF: MultiWorkerMirroredStrategy from TF_CONFIG; JAX: jax.distributed):
    one epoch of the pipeline kssl train feeds each of them."""
    from PIL import Image
    from test_distribution_multiworker import _env, _free_ports

    paths = []
    for i in range(48):
        paths.append(str(tmp_path / f"{i:03d}.png"))
        Image.fromarray(np.full((8, 8, 3), i, "uint8")).save(paths[-1])
    ports = _free_ports(2)
    workers = [f"127.0.0.1:{port}" for port in ports]
    procs = []
    try:
        for index in range(2):
            config = json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})
            extra = {"TF_CONFIG": config} if backend == "tensorflow" else {"COORDINATOR": workers[0], "INDEX": str(index), "JAX_PLATFORMS": "cpu"}
            command = [sys.executable, "-c", WORKER, json.dumps(paths), str(tmp_path / f"seen{index}.json")]
            procs.append(subprocess.Popen(command, env=_env(KERAS_BACKEND=backend, **extra), start_new_session=True))
        for proc in procs:
            assert proc.wait(timeout=240) == 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    results = [json.loads((tmp_path / f"seen{i}.json").read_text()) for i in range(2)]
    # TF: per-replica batches of 4 (global 8 over 2 replicas); JAX: each process its half (4) of every global batch of 8
    assert [r["steps"] for r in results] == [6, 6]
    first, second = (r["seen"] for r in results)
    assert len(first) == len(second) == 24 and sorted(first + second) == list(range(48))
