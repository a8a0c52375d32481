"""Re-run zoo recipes in full and check every recorded result within its tolerance, and the time each run took.

    python benchmarks/zoo_check.py                          # every zoo recipe, one after the other (about an hour)
    python benchmarks/zoo_check.py simclr vae               # the recipes named
    python benchmarks/zoo_check.py simclr --run-dir DIR     # check a finished run (made elsewhere) without re-running
    python benchmarks/zoo_check.py --budget-seconds 240     # fail a run whose wall time is over 240 s (default 300)

Each recipe runs as ``kssl train NAME`` in its own process (TensorFlow unless KERAS_BACKEND says
otherwise); its wall time and CPU time (user + system of the process and its children) are measured.
Every metric under the recipe's ``results:`` is compared with the run's metrics.json, two-sided:
``|measured - recorded| <= tolerance`` (``tolerances:`` in the recipe; ``tolerances.default`` for the
metrics not listed). A recorded metric without a tolerance, a metric the run did not report, a failed
run or a run over the wall-time budget is a failure. Prints one table per recipe and writes
``benchmarks/results/zoo_check.json`` (or ``--output``). Exit code 0 when all passed, 1 otherwise,
2 for a bad argument (an unknown recipe name, a run directory that is not one).

Wall time depends on the machine and its load: the budget is meant for an otherwise idle 2-core
machine; on a shared one compare the CPU seconds as well.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # before kssl imports Keras; the runs get the same backend
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from kssl.errors import KsslError  # noqa: E402
from kssl.recipe import load_recipe  # noqa: E402
from kssl.zoo_recipes import zoo_recipes  # noqa: E402
from kssl.zoo_results import check_results, missing_tolerances  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

OUTPUT = ROOT / "benchmarks" / "results" / "zoo_check.json"


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def train(name: str, output_dir: Path, log: Path) -> tuple[Path | None, float, float, str]:
    """``kssl train NAME`` in a child process: (run directory or None, wall s, CPU s, error text)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "kssl", "train", name, "--output-dir", str(output_dir), "--set", "train.verbose=2"]
    cpu, started = children_cpu_seconds(), time.time()
    with log.open("w") as err:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT, env=env)
    wall, cpu = time.time() - started, children_cpu_seconds() - cpu
    with log.open("a") as out:
        out.write(done.stdout)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return None, wall, cpu, f"kssl train exited with {done.returncode}; see {log}"
    return Path(lines[-1]), wall, cpu, ""


def new_entry(name: str, run_dir: Path | None = None, errors=()) -> dict:
    """One recipe's line of the report."""
    run = None if run_dir is None else str(run_dir)
    return {"recipe": name, "run_dir": run, "wall_seconds": None, "cpu_seconds": None, "errors": list(errors), "metrics": []}


def check(name: str, run_dir: Path | None, output_dir: Path, budget: float) -> dict:
    """One recipe: run it (unless ``run_dir`` is given), then check its results and time."""
    entry = new_entry(name)
    recipe = load_recipe(name)
    missing = missing_tolerances(recipe)
    if missing:
        entry["errors"].append(f"no tolerance for {', '.join(missing)}: add them under tolerances: (or a tolerances.default)")
        return entry
    if run_dir is None:
        run_dir, wall, cpu, error = train(name, output_dir, output_dir / f"{name}.log")
        entry.update(wall_seconds=round(wall, 1), cpu_seconds=round(cpu, 1))
        if error:
            entry["errors"].append(error)
            return entry
        if wall > budget:
            entry["errors"].append(f"the run took {wall:.0f} s of wall time, over the {budget:.0f} s budget")
    entry["run_dir"] = str(run_dir)
    measured = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))["metrics"]
    for c in check_results(recipe, measured):
        entry["metrics"].append({"metric": c.metric, "recorded": c.recorded, "measured": c.measured, "tolerance": c.tolerance, "ok": c.ok})
        if not c.ok:
            entry["errors"].append(f"{c.metric}: recorded {c.recorded}, measured {c.measured}: {c.reason}")
    return entry


def print_entry(entry: dict) -> None:
    timing = "checked an existing run" if entry["wall_seconds"] is None else f"{entry['wall_seconds']:.0f} s wall, {entry['cpu_seconds']:.0f} s CPU"
    status = "FAIL" if entry["errors"] else "ok"
    print(f"\n{entry['recipe']}: {status} ({timing}){'  ' + entry['run_dir'] if entry['run_dir'] else ''}")
    if entry["metrics"]:
        width = max(len(m["metric"]) for m in entry["metrics"])
        print(f"  {'metric':<{width}}  recorded  measured  tolerance")
        for m in entry["metrics"]:
            measured = "-" if m["measured"] is None else f"{m['measured']:.4f}"
            print(f"  {m['metric']:<{width}}  {m['recorded']:8.4f}  {measured:>8}  {m['tolerance']:9g}  {'ok' if m['ok'] else 'FAIL'}")
    for error in entry["errors"]:
        print(f"  FAIL: {error}")


def usage_error(message: str) -> None:
    print(f"zoo_check: {message}", file=sys.stderr)
    sys.exit(2)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipes", nargs="*", help="zoo recipe names (default: all)")
    parser.add_argument("--run-dir", type=Path, action="append", default=[], help="a finished run of the (single) recipe named; repeatable with as many names")
    parser.add_argument("--budget-seconds", type=float, default=300.0, help="wall-time limit of one run (default 300)")
    parser.add_argument("--output-dir", type=Path, default=None, help="where the runs go (default: a temporary folder)")
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"the JSON report (default {OUTPUT.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    zoo = zoo_recipes()
    names = args.recipes or list(zoo)
    unknown = [n for n in names if n not in zoo]
    if unknown:
        usage_error(f"no zoo recipe named {', '.join(unknown)}; the zoo has {', '.join(zoo)}.")
    if args.run_dir and len(args.run_dir) != len(names):
        usage_error(f"--run-dir was given {len(args.run_dir)} time(s) for {len(names)} recipe(s): name one recipe per run directory, in the same order.")
    for run_dir in args.run_dir:
        if not (run_dir / "metrics.json").is_file():
            usage_error(f"--run-dir {run_dir}: no metrics.json there; give the directory `kssl train` printed.")
    output_dir = args.output_dir or Path(tempfile.mkdtemp(prefix="kssl-zoo-check-"))
    output_dir.mkdir(parents=True, exist_ok=True)
    runs = args.run_dir or [None] * len(names)
    entries = []
    for name, run_dir in zip(names, runs):
        try:
            entry = check(name, run_dir, output_dir, args.budget_seconds)
        except (KsslError, OSError, ValueError, KeyError) as error:  # a broken recipe or run directory: report it, check the rest
            entry = new_entry(name, run_dir, [str(error)])
        print_entry(entry)
        entries.append(entry)
    failed = [e["recipe"] for e in entries if e["errors"]]
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_average_1_5_15_min": [round(x, 2) for x in os.getloadavg()],  # other jobs inflate wall times
        "budget_seconds": args.budget_seconds,
        "passed": not failed,
        "recipes": entries,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\n{len(entries) - len(failed)} of {len(entries)} recipe(s) passed{': failed ' + ', '.join(failed) if failed else ''}. Report: {args.output}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
