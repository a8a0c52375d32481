"""Seed spread of a clustering recipe: train it with several seeds, tabulate ACC / NMI / ARI.

    python benchmarks/clustering_seeds.py zoo/dec.yaml --seeds 0 1 2 --json /tmp/dec_seeds.json
    python benchmarks/clustering_seeds.py zoo/swav.yaml --seeds 0 1 2 --runs-dir /tmp/runs --set train.epochs=30

Each seed is a full ``kssl train`` run (``seed`` and, for the dataset split,
``data.seed`` stay as in the recipe unless ``--split-seed`` is given, so the
held-out set is the same for every seed). Prints one row per seed and the
mean ± standard deviation (and min/max) of every metric, and writes them as
JSON. Keys: ``runs`` (per seed: run_dir, metrics, seconds) and ``summary``
(metric -> {mean, std, min, max}).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

DEFAULT_COLUMNS = (
    "clusters_acc",
    "clusters_nmi",
    "clusters_ari",
    "kmeans_acc",
    "kmeans_nmi",
    "kmeans_ari",
    "raw_kmeans_acc",
    "raw_kmeans_nmi",
    "raw_kmeans_ari",
    "knn_accuracy",
    "random_init.knn_accuracy",
    "clusters_usage_entropy",
)


def summarise(runs: list[dict]) -> dict:
    """metric -> {mean, std, min, max} over the runs that report it."""
    names = sorted({k for r in runs for k in r["metrics"]})
    out = {}
    for name in names:
        values = [r["metrics"][name] for r in runs if name in r["metrics"]]
        out[name] = {
            "mean": statistics.fmean(values),
            "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "min": min(values),
            "max": max(values),
            "n": len(values),
        }
    return out


def table(runs: list[dict], summary: dict, columns) -> str:
    columns = [c for c in columns if c in summary]
    width = max([len(c) for c in columns] + [8])
    lines = [f"{'metric':<{width}}  " + "  ".join(f"seed {r['seed']:<4}" for r in runs) + "  mean ± std"]
    for c in columns:
        cells = "  ".join(f"{r['metrics'].get(c, float('nan')):<9.4f}" for r in runs)
        lines.append(f"{c:<{width}}  {cells}  {summary[c]['mean']:.4f} ± {summary[c]['std']:.4f}")
    lines.append(f"{'epochs run':<{width}}  " + "  ".join(f"{str(r.get('epochs_run')):<9}" for r in runs))
    lines.append(f"{'seconds':<{width}}  " + "  ".join(f"{r['seconds']:<9.0f}" for r in runs))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe", help="recipe path or zoo name")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--runs-dir", default="/tmp/kssl-clustering-seeds")
    parser.add_argument("--json", default=None, help="where to write the results (default: <runs-dir>/<recipe>-seeds.json)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--split-seed", type=int, default=None, help="also set data.seed (a different held-out split)")
    parser.add_argument("--columns", nargs="+", default=list(DEFAULT_COLUMNS))
    args = parser.parse_args(argv)

    from kssl.recipe import parse_override
    from kssl.training import train

    base = [parse_override(o) for o in args.overrides]
    runs = []
    for seed in args.seeds:
        overrides = [*base, ("seed", seed)]
        if args.split_seed is not None:
            overrides.append(("data.seed", args.split_seed))
        started = time.time()
        run_dir = train(args.recipe, overrides=overrides, output_dir=args.runs_dir)
        result = json.loads((Path(run_dir) / "metrics.json").read_text())
        history = Path(run_dir) / "history.csv"
        epochs_run = max(0, len(history.read_text().splitlines()) - 1) if history.is_file() else None
        runs.append(
            {
                "seed": seed,
                "run_dir": str(run_dir),
                "metrics": result["metrics"],
                "seconds": time.time() - started,
                "epochs_run": epochs_run,
                "final_loss": result.get("final_loss"),
            }
        )
        print(f"seed {seed}: {run_dir}", file=sys.stderr, flush=True)

    summary = summarise(runs)
    print(table(runs, summary, args.columns))
    name = Path(args.recipe).stem
    out = Path(args.json or Path(args.runs_dir) / f"{name}-seeds.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"recipe": args.recipe, "overrides": args.overrides, "seeds": args.seeds, "runs": runs, "summary": summary}, indent=2))
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
