"""Two worker processes on 127.0.0.1 train a tiny recipe to the loss of one process.

``kssl train`` runs as two workers (strategy multi_worker, cluster from
TF_CONFIG) next to a one-process reference on the same global batches. Each
process has a time limit and is killed (with its process group) if the test
fails or times out. Slow (about a minute of 2 CPU cores): CI runs it in the
bounded slow step, ``timeout 900 python -m pytest -q -m slow tests/test_distribution_multiworker.py``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
TIME_LIMIT = 420  # seconds for the whole group of processes

RECIPE = {
    "name": "two-workers",
    "seed": 0,
    "data": {"type": "digits", "image_size": 8, "batch_size": 32, "limit": 64},
    # SimCLR needs an augmenter; this one changes nothing (full-image crops, no flip, jitter, grayscale or blur),
    # so every process sees the same two views and the losses can be compared exactly.
    "augmenter": {
        "type": "simclr",
        "crop_scale": [1.0, 1.0],
        "crop_ratio": [1.0, 1.0],
        "flip_probability": 0.0,
        "jitter_probability": 0.0,
        "grayscale_probability": 0.0,
        "blur_probability": 0.0,
    },
    "encoder": {"type": "cnn", "filters": [4, 8]},
    "pretext": {"type": "simclr", "projection_dim": 8, "projection_hidden_dims": [16], "temperature": 0.5},
    "optimizer": {"type": "sgd", "learning_rate": 0.5, "momentum": 0.0},
    "train": {"epochs": 2, "verbose": 0, "log_images": 0},
    "eval": [],
}


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG", "KERAS_BACKEND", "XLA_FLAGS")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env.update(extra)
    return env


def _final_loss(output_dir: Path) -> float:
    (metrics,) = output_dir.glob("*/metrics.json")
    return json.loads(metrics.read_text())["final_loss"]


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_two_workers_train_to_the_one_process_loss(backend, tmp_path, write_recipe):
    if backend == "jax":
        pytest.importorskip("jax")
    recipe = write_recipe(RECIPE)
    common = [sys.executable, "-m", "kssl", "train", str(recipe), "--backend", backend]
    if backend == "jax":
        common += ["--set", "train.jit_compile=true"]
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    jobs = {}
    if backend == "tensorflow":  # the reference: one process, one device
        jobs["reference"] = (common + ["--set", "distribution.strategy=none"], _env())
    else:  # one process, 2 devices: the same global batches as 2 processes of 1 device (proven equal to 1 device in test_distribution)
        jobs["reference"] = (
            common + ["--set", "distribution.strategy=data_parallel"],
            _env(XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu"),
        )
    for index in range(2):
        tf_config = json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})
        extra = {"TF_CONFIG": tf_config}
        if backend == "jax":
            extra["JAX_PLATFORMS"] = "cpu"
        jobs[f"worker{index}"] = (common + ["--set", "distribution.strategy=multi_worker"], _env(**extra))

    procs = {}
    try:
        for name, (command, env) in jobs.items():
            log = open(tmp_path / f"{name}.log", "w")
            procs[name] = subprocess.Popen(
                command + ["--output-dir", str(tmp_path / name)], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + TIME_LIMIT
        for name, proc in procs.items():
            try:
                proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pytest.fail(f"{name} did not finish within {TIME_LIMIT} s:\n" + (tmp_path / f"{name}.log").read_text()[-3000:])
        for name, proc in procs.items():
            assert proc.returncode == 0, f"{name} failed:\n" + (tmp_path / f"{name}.log").read_text()[-5000:]
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    reference = _final_loss(tmp_path / "reference")
    losses = [_final_loss(tmp_path / f"worker{i}") for i in range(2)]
    assert losses[0] == losses[1]  # the workers trained in sync
    assert losses[0] == pytest.approx(reference, rel=1e-4)
