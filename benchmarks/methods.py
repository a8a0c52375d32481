"""The method leaderboard: every image pretext task in the registry, one encoder, one augmenter, one budget, 3 seeds.

    python benchmarks/methods.py                                   # every image pretext task, seeds 0 1 2
    python benchmarks/methods.py --methods simclr byol --seeds 0   # a subset
    python benchmarks/methods.py --markdown                        # the recorded table, for docs/zoo.md

Each run is ``kssl train`` in its own process on the digits (16x16), with the zoo's SimCLR
augmenter, a CIFAR-style ResNet-10 of width 16, AdamW with a cosine schedule and the same
number of epochs for every method. A method's own arguments come from its zoo recipe's
``pretext`` section when the zoo has one (their tuned values), else its defaults; a method
that does not use an augmenter (``uses_augmenter = False``) gets none. Scores: kNN and
linear probe on the frozen features, 5-shot logistic regression (5 draws), and the
random-init encoder's kNN for reference. Fine-tuning is left out of the leaderboard: a run
would score it on the random-init model too, doubling the cost; the label-efficiency curves
(benchmarks/label_efficiency.py) compare fine-tuning per zoo recipe instead. Tasks that cannot be
built on images (text) are listed as skipped with the reason.

Writes ``benchmarks/results/methods.json`` (every run) and ``docs/images/methods.png``
(mean ± std over the seeds). Not a test: numbers depend on the machine and its load.
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

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "benchmarks" / "results" / "methods.json"
PNG = ROOT / "docs" / "images" / "methods.png"
SCORES = {
    "knn_accuracy": "kNN",
    "linear_probe_accuracy": "linear probe",
    "few_shot_5_logistic_accuracy": "5-shot",
}
BASE = {
    "seed": 0,
    "data": {"type": "digits", "image_size": 16, "channels": 1, "batch_size": 128},
    "augmenter": {"type": "simclr", "crop_scale": [0.4, 1.0], "flip_probability": 0.0, "jitter_strength": 0.5, "blur_probability": 0.2},
    "encoder": {"type": "resnet", "depth": 10, "width": 16},
    "optimizer": {"type": "adamw", "learning_rate": 2.0e-3, "weight_decay": 1.0e-4, "schedule": "cosine", "warmup_steps": 20},
    "train": {"epochs": 15, "verbose": 0, "log_images": 0},
    "eval": [
        {"type": "knn", "k": 20},
        {"type": "linear_probe"},
        {"type": "few_shot", "shots": [5], "repeats": 5},
    ],
}


def image_methods() -> dict:
    """``{pretext name: its zoo recipe's pretext section (or {})}`` for every registered pretext task, and which are text."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    from kssl.plugins import get_registry
    from kssl.recipe import load_recipe
    from kssl.zoo_recipes import zoo_recipes

    tuned = {}
    for name in zoo_recipes():
        recipe = load_recipe(name)
        tuned.setdefault(recipe["pretext"]["type"], dict(recipe["pretext"]))
    registry = get_registry()
    return {e.name: tuned.get(e.name, {"type": e.name}) for e in registry.entries() if e.kind == "pretext"}


def recipe_for(name: str, pretext: dict, seed: int, epochs: int) -> dict:
    from kssl.plugins import get_registry

    recipe = json.loads(json.dumps(BASE))
    recipe.update(name=f"methods-{name}-s{seed}", seed=seed, pretext=pretext)
    recipe["train"]["epochs"] = epochs
    from kssl.pretext.pretext_task import PretextTask

    factory = get_registry().get("pretext", name)
    if isinstance(factory, type) and issubclass(factory, PretextTask) and not factory.uses_augmenter:
        recipe["augmenter"] = None
    return recipe


def run_one(recipe: dict, workdir: Path) -> dict:
    """``kssl train`` in a fresh process; its metrics.json (or the error it printed)."""
    path = workdir / f"{recipe['name']}.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    started = time.time()
    result = subprocess.run([sys.executable, "-m", "kssl", "train", str(path), "--output-dir", str(workdir)], capture_output=True, text=True)
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["failed"])[-1]
        return {"error": reason, "exit_code": result.returncode}
    summary = json.loads((Path(result.stdout.strip().splitlines()[-1]) / "metrics.json").read_text())
    train_seconds = summary["train_seconds_this_session"]
    return {
        **{k: summary["metrics"].get(k) for k in SCORES},
        "random_init.knn_accuracy": summary["metrics"].get("random_init.knn_accuracy"),
        "train_seconds": train_seconds,
        "wall_seconds": round(time.time() - started, 1),
        "samples_per_second": round(summary["train_samples"] * summary["epochs"] / max(train_seconds, 1e-9), 1),
    }


def table(results: dict) -> str:
    import numpy as np

    head = ["method", *SCORES.values(), "random-init kNN", "samples/s", "train s"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    rows = []
    for name, runs in results["methods"].items():
        ok = [r for r in runs if "error" not in r]
        if not ok:
            lines_skip = f"| {name} | skipped: {runs[0]['error'][:80]} |" + " |" * (len(head) - 2)
            rows.append((-1.0, lines_skip))
            continue

        cells = [_cell(ok, k) for k in [*SCORES, "random_init.knn_accuracy"]]
        cells += [_cell(ok, "samples_per_second", "{:.0f}"), _cell(ok, "train_seconds", "{:.0f}")]
        line = f"| {name} | " + " | ".join(cells) + " |"
        rows.append((float(np.mean([r["linear_probe_accuracy"] for r in ok])), line))
    return "\n".join(lines + [line for _, line in sorted(rows, key=lambda r: -r[0])])


def _cell(runs: list, key: str, fmt: str = "{:.3f}") -> str:
    import numpy as np

    values = [r[key] for r in runs if r.get(key) is not None]
    return f"{fmt.format(np.mean(values))} ± {fmt.format(np.std(values))}" if values else "-"


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = [n for n, runs in results["methods"].items() if any("error" not in r for r in runs)]
    names.sort(key=lambda n: -np.mean([r["linear_probe_accuracy"] for r in results["methods"][n] if "error" not in r]))
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(names) + 2), 4), dpi=120)
    width = 0.8 / len(SCORES)
    for i, (key, label) in enumerate(SCORES.items()):
        means, stds = [], []
        for n in names:
            values = [r[key] for r in results["methods"][n] if "error" not in r and r.get(key) is not None]
            means.append(np.mean(values) if values else 0.0)
            stds.append(np.std(values) if values else 0.0)
        ax.bar(np.arange(len(names)) + (i - (len(SCORES) - 1) / 2) * width, means, width, yerr=stds, capsize=2, label=label)
    ax.set_xticks(np.arange(len(names)), names, rotation=30, ha="right")
    ax.set_ylim(0.5, 1.0)
    ax.set_ylabel("held-out accuracy")
    ax.set_title(f"methods on digits: ResNet-10, {results['epochs']} epochs, {len(results['seeds'])} seeds (mean ± std)")
    ax.legend(loc="lower left", fontsize=8, ncol=2)
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="*", help="pretext names (default: every registered one)")
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--markdown", action="store_true", help="print the recorded table of --output and exit")
    args = parser.parse_args(argv)
    if args.markdown:
        print(table(json.loads(args.output.read_text())))
        return 0
    methods = image_methods()
    chosen = args.methods or sorted(methods)
    results = {"epochs": args.epochs, "seeds": args.seeds, "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared)", "base": BASE, "methods": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name in chosen:
            runs = results["methods"].setdefault(name, [])
            for seed in args.seeds:
                run = run_one(recipe_for(name, methods[name], seed, args.epochs), Path(tmp))
                runs.append({"seed": seed, **run})
                print(f"{name} seed {seed}: {run}", flush=True)
                args.output.write_text(json.dumps(results, indent=2) + "\n")  # after every run: nothing lost on a crash
                if "error" in run:
                    break  # a task that cannot be built on images fails the same way for every seed
    print(table(results))
    plot(results, PNG)
    return 0


if __name__ == "__main__":
    sys.exit(main())
