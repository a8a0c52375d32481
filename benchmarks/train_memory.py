"""Peak memory and time to the first training step of ``kssl train`` on streamed image folders of different sizes.

    python benchmarks/make_image_folder.py /tmp/pack/folder64_10k --count 10000 --size 64
    python benchmarks/make_image_folder.py /tmp/pack/folder64_100k --count 100000 --size 64
    nice -n 10 python benchmarks/train_memory.py /tmp/pack/folder64_10k /tmp/pack/folder64_100k

For each FOLDER, ``kssl train`` runs in a child process on a small SimCLR recipe (CNN encoder,
``data: {type: image_folder, stream: true}``, ``train.steps_per_epoch`` steps, no evaluators),
and the parent records:

* ``peak_rss_mb``: the child's peak resident memory (``os.wait4`` rusage ``ru_maxrss``),
* ``first_step_s``: seconds from starting the child to the end of its first training step
  (a patched ``CallbackList.on_train_batch_end`` writes the time; Python start-up, TensorFlow
  import, the folder scan and file check, the model build and the first batch are included),
  and ``first_step_cpu_s``, the child's CPU seconds by then (less inflated by a loaded machine),
* ``wall_s`` and ``cpu_s``: the whole run.

Streaming should make memory independent of the number of images (target: within 20%) and
the first step come in seconds. ``--in-memory`` adds a run with ``stream: false`` on the
first folder (images decoded into memory) for contrast; ``--tfrecord DIR`` a run on packed
shards. JSON goes to ``--output`` (default ``benchmarks/results/train_memory.json``). Not a
test: run it under ``nice`` on a shared machine (the JSON records niceness and load).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

# Run in the child: time the end of the first training step, then run `kssl train` as the CLI does.
CHILD = r"""
import os, sys, time
sys.argv = ["kssl"]
import keras
first = {}
original = keras.callbacks.CallbackList.on_train_batch_end
def on_train_batch_end(self, batch, logs=None):
    if not first:
        first["t"] = time.time()
        with open(os.environ["KSSL_BENCH_FIRST_STEP"], "w") as f:
            f.write(f"{first['t']!r} {time.process_time()!r}")
    return original(self, batch, logs)
keras.callbacks.CallbackList.on_train_batch_end = on_train_batch_end
from kssl.cli import main
main(ARGS, prog_name="kssl")
"""


def recipe(data: dict, image_size: int = 64, batch_size: int = 64, steps: int = 20) -> dict:
    """The small recipe each run trains: SimCLR on ``data`` for one epoch of ``steps`` steps, no evaluators."""
    return {
        "name": "train-memory",
        "seed": 0,
        "data": {"image_size": image_size, "batch_size": batch_size, **data},
        "augmenter": {"type": "simclr", "crop_scale": [0.3, 1.0], "blur_probability": 0.0},
        "encoder": {"type": "cnn", "filters": [16, 32]},
        "pretext": {"type": "simclr", "projection_dim": 32, "temperature": 0.2},
        "optimizer": {"type": "adam", "learning_rate": 1.0e-3},
        "train": {"epochs": 1, "steps_per_epoch": steps, "verbose": 0, "log_images": 0},
        "eval": [],
    }


def run_child(recipe_dict: dict, workdir: Path, timeout: float = 1800) -> dict:
    """Train ``recipe_dict`` with ``kssl train`` in a child process; its peak RSS, time to the first step and wall time."""
    import yaml

    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"{recipe_dict['name']}.yaml"
    path.write_text(yaml.safe_dump(recipe_dict), encoding="utf-8")
    marker = workdir / "first_step.txt"
    marker.unlink(missing_ok=True)
    args = ["train", str(path), "--output-dir", str(workdir / "runs")]
    env = {**os.environ, "KSSL_BENCH_FIRST_STEP": str(marker), "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    env.setdefault("KERAS_BACKEND", "tensorflow")
    log = open(workdir / "child.log", "w")
    started = time.time()
    child = subprocess.Popen([sys.executable, "-c", CHILD.replace("ARGS", repr(args))], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    deadline = started + timeout
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if time.time() > deadline:
            child.kill()
            pid, status, usage = os.wait4(child.pid, 0)
            break
        time.sleep(0.2)
    wall = time.time() - started
    log.close()
    code = os.waitstatus_to_exitcode(status)
    child.returncode = code
    first, first_cpu = (float(v) for v in marker.read_text().split()) if marker.is_file() else (None, None)
    result = {
        "exit_code": code,
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "first_step_s": None if first is None else round(first - started, 1),
        "first_step_cpu_s": None if first_cpu is None else round(first_cpu, 1),
        "wall_s": round(wall, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
    }
    if code != 0:
        result["log_tail"] = (workdir / "child.log").read_text(errors="replace")[-2000:]
    return result


def _count(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp", ".gif"))


def run(folders, image_size: int = 64, batch_size: int = 64, steps: int = 20, in_memory: bool = False, tfrecord=None, workdir=None) -> dict:
    """Every run of the benchmark (streamed folders, then the optional in-memory and TFRecord runs) and the memory ratio."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="train_memory-"))
    plan = [(f"stream {Path(f).name}", {"type": "image_folder", "path": str(f), "stream": True}, _count(Path(f))) for f in folders]
    if in_memory:
        f = folders[0]
        plan.append((f"in-memory {Path(f).name}", {"type": "image_folder", "path": str(f), "stream": False}, _count(Path(f))))
    if tfrecord:
        index = json.loads((Path(tfrecord) / "index.json").read_text())
        plan.append((f"tfrecord {Path(tfrecord).name}", {"type": "tfrecord", "path": str(tfrecord), "stream": True}, index["count"]))
    rows = []
    for i, (label, data, count) in enumerate(plan):
        got = run_child(recipe(data, image_size, batch_size, steps), workdir / f"run{i}")
        rows.append({"run": label, "images": count, **got})
        print(
            f"{label:<28} {count:>7} images  peak RSS {got['peak_rss_mb']:>7.1f} MB  first step {got['first_step_s']} s "
            f"({got['first_step_cpu_s']} CPU s)  wall {got['wall_s']} s",
            flush=True,
        )
    streamed = [r for r in rows if r["run"].startswith("stream ") and r["exit_code"] == 0]
    ratio = round(max(r["peak_rss_mb"] for r in streamed) / min(r["peak_rss_mb"] for r in streamed), 3) if len(streamed) > 1 else None
    return {
        "config": {
            "image_size": image_size,
            "batch_size": batch_size,
            "steps_per_epoch": steps,
            "recipe": recipe({"type": "image_folder", "path": "FOLDER"}, image_size, batch_size, steps),
        },
        "rows": rows,
        "streamed_peak_rss_ratio_max_over_min": ratio,
        "target": "streamed peak RSS equal within 20% (ratio <= 1.2); first step in seconds",
        "machine": {
            "host": platform.node(),
            "cpus": os.cpu_count(),
            "niceness": os.nice(0),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "shared": "2-core CPU shared with other engineers' jobs: times are inflated by load; memory is not",
        },
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folders", nargs="+", help="image folders with class sub-folders (benchmarks/make_image_folder.py)")
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=20, help="train.steps_per_epoch (one epoch)")
    p.add_argument("--in-memory", action="store_true", help="also train the first folder with stream: false")
    p.add_argument("--tfrecord", default=None, help="also train on this packed folder (kssl data pack)")
    p.add_argument("--workdir", default=None, help="where recipes, logs and run directories go (default: a new temporary folder)")
    p.add_argument("--output", default=str(HERE / "results" / "train_memory.json"))
    a = p.parse_args(argv)
    result = run(a.folders, a.image_size, a.batch_size, a.steps, a.in_memory, a.tfrecord, a.workdir)
    print(f"streamed peak RSS, largest / smallest: {result['streamed_peak_rss_ratio_max_over_min']}")
    Path(a.output).parent.mkdir(parents=True, exist_ok=True)
    Path(a.output).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {a.output}")


if __name__ == "__main__":
    main()
