"""The overhead of `kssl tune` over running its trials one by one with `kssl train`.

Side by side in one run, on one tiny recipe (SimCLR, a small CNN on the 8x8 scikit-learn digits, a few epochs):

1. `kssl tune RECIPE --space augmenter.jitter_strength=float:0.1:1.0 --trials N --epochs E` (one process);
2. for each of its trials, with the very values the search drew, `kssl train RECIPE --set KEY=VALUE --epochs E`
   (one process per trial, as a user would run them by hand).

Both are timed as child processes: wall time and CPU time (user + system, from getrusage of the children).
The ratio tune / (sum of the trains) is the search's overhead: KerasTuner's bookkeeping and the objective
(embedding the training split and a kNN, for the trained and the random-init weights) against the
start-ups of N separate processes. The runs' final losses are compared too: equal losses show that the
two sides trained the same thing. Writes benchmarks/results/tune_overhead.json and prints a table.

    python benchmarks/tune_overhead.py [--trials 4] [--epochs 2] [--output /tmp/tune_overhead]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
RESULT = REPO / "benchmarks" / "results" / "tune_overhead.json"
KEY = "augmenter.jitter_strength"
RECIPE = {
    "name": "tune-overhead",
    "seed": 0,
    "data": {"type": "digits", "image_size": 8, "channels": 1, "batch_size": 128},
    "augmenter": {"type": "simclr", "crop_scale": [0.4, 1.0], "flip_probability": 0.0, "jitter_strength": 0.5, "blur_probability": 0.0},
    "encoder": {"type": "cnn", "filters": [16, 32]},
    "pretext": {"type": "simclr", "projection_dim": 32, "projection_hidden_dims": [64], "temperature": 0.2},
    "optimizer": {"type": "adam", "learning_rate": 2.0e-3},
    "train": {"epochs": 2, "log_images": 0, "verbose": 0},
    "eval": [],
}


def timed(args: list[str]) -> dict:
    """Run a child process; its wall and CPU seconds (user + system of the child and its own children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(args, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(args)}\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "stdout": done.stdout}


def final_loss(run_dir: Path) -> float:
    return json.loads((run_dir / "metrics.json").read_text())["final_loss"]


def fit_seconds(run_dir: Path) -> float:
    """The seconds a run spent in model.fit (metrics.json's train_seconds_this_session)."""
    return json.loads((run_dir / "metrics.json").read_text())["train_seconds_this_session"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--output", type=Path, default=Path("/tmp/tune_overhead"))
    args = parser.parse_args()
    shutil.rmtree(args.output, ignore_errors=True)
    args.output.mkdir(parents=True)
    recipe = args.output / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(RECIPE, sort_keys=False), encoding="utf-8")
    kssl = [sys.executable, "-m", "kssl"]
    load_before = list(os.getloadavg())

    print(f"kssl tune: {args.trials} trials of {args.epochs} epochs ...", flush=True)
    space = ["--space", f"{KEY}=float:0.1:1.0"]
    budget = ["--trials", str(args.trials), "--epochs", str(args.epochs)]
    tune = timed([*kssl, "tune", str(recipe), *space, *budget, "--output-dir", str(args.output), "--name", "tune"])
    tune_dir = args.output / "tune"
    trials = json.loads((tune_dir / "trials.json").read_text())["trials"]
    tune_losses, tune_fit = [], 0.0
    for t in trials:
        (run_dir,) = [p.parent for p in (tune_dir / "trials" / t["trial"]).glob("*/metrics.json")]
        tune_losses.append(final_loss(run_dir))
        tune_fit += fit_seconds(run_dir)

    trains = []
    for i, t in enumerate(trials):
        print(f"kssl train {i + 1}/{len(trials)}: {KEY}={t[KEY]} ...", flush=True)
        out = args.output / "train" / t["trial"]
        result = timed([*kssl, "train", str(recipe), "--set", f"{KEY}={t[KEY]!r}", "--epochs", str(args.epochs), "--output-dir", str(out)])
        (run_dir,) = [p.parent for p in out.glob("*/metrics.json")]
        trains.append(
            {
                "trial": t["trial"],
                KEY: t[KEY],
                "wall_s": result["wall_s"],
                "cpu_s": result["cpu_s"],
                "fit_wall_s": fit_seconds(run_dir),
                "final_loss": final_loss(run_dir),
            }
        )

    train_wall = sum(t["wall_s"] for t in trains)
    train_cpu = sum(t["cpu_s"] for t in trains)
    same = all(abs(a - b["final_loss"]) <= 1e-5 * max(1.0, abs(a)) for a, b in zip(tune_losses, trains))
    result = {
        "command": f"python benchmarks/tune_overhead.py --trials {args.trials} --epochs {args.epochs}",
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "recipe": RECIPE,
        "space": f"{KEY}=float:0.1:1.0",
        "trials": args.trials,
        "epochs": args.epochs,
        "load_average_before_after": [load_before, list(os.getloadavg())],
        "tune": {"wall_s": tune["wall_s"], "cpu_s": tune["cpu_s"], "fit_wall_s": round(tune_fit, 2), "objective": "val_knn_accuracy"},
        "train_one_by_one": {
            "wall_s": round(train_wall, 2),
            "cpu_s": round(train_cpu, 2),
            "fit_wall_s": round(sum(t["fit_wall_s"] for t in trains), 2),
            "runs": trains,
        },
        "ratio_wall": round(tune["wall_s"] / train_wall, 3),
        "ratio_cpu": round(tune["cpu_s"] / train_cpu, 3),
        "same_final_losses": same,
        "tune_final_losses": tune_losses,
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\n{'':<28}{'wall s':>10}{'CPU s':>10}")
    print(f"{'kssl tune (1 process)':<28}{tune['wall_s']:>10.1f}{tune['cpu_s']:>10.1f}")
    print(f"{f'kssl train x {len(trains)}':<28}{train_wall:>10.1f}{train_cpu:>10.1f}")
    print(f"{'ratio tune / trains':<28}{result['ratio_wall']:>10.3f}{result['ratio_cpu']:>10.3f}")
    print(f"time in model.fit (wall s): tune {tune_fit:.1f}, trains {result['train_one_by_one']['fit_wall_s']:.1f}")
    print(f"same final losses: {same}; written {RESULT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
