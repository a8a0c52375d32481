"""Label efficiency of trained runs: frozen probe, fine-tune and from-scratch accuracy per label budget, with wall times.

    python benchmarks/label_efficiency.py RUN_DIR [RUN_DIR ...] [--labels-per-class 1,5,10,50] [--repeats 3] [--steps 100]

For each finished run (``kssl train`` output) it rebuilds the run's dataset, loads ``model.keras``
and runs the ``label_efficiency`` evaluator (``kssl.eval.label_efficiency``) plus 5-shot
``few_shot``; prints one table per run, writes ``benchmarks/results/label_efficiency.json``
(every draw, seconds per budget) and ``docs/images/label_efficiency_<recipe>.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]


def measure(run_dir: Path, labels_per_class, repeats: int, steps: int, learning_rate: float = 1e-3, png_suffix: str = "") -> dict:
    import numpy as np

    import kssl
    from kssl.builder import build_inputs
    from kssl.eval.few_shot import FewShotEvaluator
    from kssl.eval.label_efficiency import METHODS, LabelEfficiencyEvaluator
    from kssl.recipe import load_recipe
    from kssl.viz.label_efficiency_plot import plot_label_efficiency

    recipe = load_recipe(run_dir / "recipe.yaml")
    data, _ = build_inputs({**recipe, "eval": []})
    model = kssl.load_model(run_dir / "model.keras", compile=False)
    evaluator = LabelEfficiencyEvaluator(labels_per_class=labels_per_class, repeats=repeats, steps=steps, learning_rate=learning_rate)
    started, cpu_started = time.time(), time.process_time()
    evaluator.evaluate(model, data)
    seconds, cpu_seconds = time.time() - started, time.process_time() - cpu_started  # CPU: every thread of the process
    table = evaluator._tables[id(model)][1]
    few_shot = FewShotEvaluator(shots=[5], repeats=5).evaluate(model, data)
    png = ROOT / "docs" / "images" / f"label_efficiency_{recipe['name']}{png_suffix}.png"
    plot_label_efficiency(table, png, title=f"{recipe['name']}: label efficiency ({repeats} draws, {steps} steps)")
    print(f"\n{recipe['name']} ({run_dir.name}, learning rate {learning_rate:g}): {seconds:.0f} s wall, {cpu_seconds:.0f} s CPU")
    print(f"{'labels/class':>12} " + " ".join(f"{m:>18}" for m in METHODS) + f" {'seconds':>8}")
    for row in table:
        cells = " ".join(f"{np.mean(row[m]):>10.3f} ± {np.std(row[m]):.3f}" for m in METHODS)
        print(f"{row['labels_per_class']:>12g} {cells} {row['seconds']:>8.1f}")
    print(f"5-shot logistic {few_shot['few_shot_5_logistic_accuracy']:.3f} ± {few_shot['few_shot_5_logistic_accuracy_std']:.3f}")
    return {
        "recipe": recipe["name"],
        "learning_rate": learning_rate,
        "run": run_dir.name,
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu_seconds, 1),
        "budgets": table,
        "few_shot": few_shot,
        "png": str(png.relative_to(ROOT)),
    }


def markdown(results: dict) -> str:
    """The recorded results as one markdown table per recipe (mean ± std over the draws), for docs/zoo.md."""
    import numpy as np

    out = []
    for key, entry in results.items():
        out.append(f"**{key}** ({entry['repeats']} draws, {entry['steps']} steps, {entry['seconds']:.0f} s)\n")
        out.append("| labels per class | raw input | frozen linear probe | fine-tuned | from scratch | seconds |")
        out.append("| --- | --- | --- | --- | --- | --- |")
        for row in entry["budgets"]:
            cells = " | ".join(f"{np.mean(row[m]):.3f} ± {np.std(row[m]):.3f}" for m in ("raw_input", "linear_probe", "fine_tune", "scratch"))
            out.append(f"| {row['labels_per_class']:g} | {cells} | {row['seconds']:.0f} |")
        out.append("")
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", type=Path)
    parser.add_argument("--labels-per-class", default="1,5,10,50")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--learning-rates", default="0.001", help="comma-separated; more than one: the same budgets at each rate (equal care for both lines)")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "label_efficiency.json")
    parser.add_argument("--markdown", action="store_true", help="print the recorded results of --output as markdown tables and exit")
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown(json.loads(args.output.read_text())))
        return 0
    budgets = [int(k) for k in args.labels_per_class.split(",")]
    results = json.loads(args.output.read_text()) if args.output.is_file() else {}
    rates = [float(r) for r in args.learning_rates.split(",")]
    for run in args.runs:
        for rate in rates:
            entry = measure(run, budgets, args.repeats, args.steps, rate, png_suffix="" if len(rates) == 1 else f"_lr{rate:g}")
            key = entry["recipe"] if len(rates) == 1 else f"{entry['recipe']}@lr={rate:g}"
            results[key] = {**entry, "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared)", "repeats": args.repeats, "steps": args.steps}
            args.output.write_text(json.dumps(results, indent=2, default=float) + "\n")  # after each run: nothing lost on a crash
    return 0


if __name__ == "__main__":
    sys.exit(main())
