"""Wall time of `python -c "import kssl"` and `kssl validate zoo/simclr.yaml`, for one or more kssl source trees side by side.

    python benchmarks/cli_latency.py --trees before=/path/to/old/checkout after=. --repeats 7

Each tree's commands run alternately (before, after, before, ...) so that the machine's load
affects both alike; the table gives the median and min seconds, and the ratio after/before of
the medians. The tree is put first on PYTHONPATH, so the installed kssl (same dependencies) is
shadowed by that tree's source. Writes benchmarks/results/cli_latency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = {
    "import keras (floor)": [sys.executable, "-c", "import keras"],
    "import kssl": [sys.executable, "-c", "import kssl"],
    "kssl validate simclr": [sys.executable, "-m", "kssl", "validate", "zoo/simclr.yaml"],
}


def run_once(tree: Path, command: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree), "TF_CPP_MIN_LOG_LEVEL": "3"}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed in {tree}:\n{done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trees", nargs="+", default=["this=."], help="NAME=PATH pairs of kssl checkouts")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output", default=str(Path(__file__).parent / "results" / "cli_latency.json"))
    args = parser.parse_args()
    trees = dict(t.split("=", 1) for t in args.trees)
    times = {c: {name: [] for name in trees} for c in COMMANDS}
    for _ in range(args.repeats):
        for command, argv in COMMANDS.items():
            for name, path in trees.items():
                times[command][name].append(run_once(Path(path).resolve(), argv))
    first = next(iter(trees))
    print(f"{'command':<22} {'tree':<10} {'median s':>9} {'min s':>7} {'ratio':>6}")
    summary = {}
    for command, per_tree in times.items():
        base = statistics.median(per_tree[first])
        for name, values in per_tree.items():
            median = statistics.median(values)
            summary.setdefault(command, {})[name] = {
                "median_s": round(median, 3),
                "min_s": round(min(values), 3),
                "runs": [round(v, 3) for v in values],
                "ratio_to_" + first: round(median / base, 3),
            }
            print(f"{command:<22} {name:<10} {median:>9.2f} {min(values):>7.2f} {median / base:>6.2f}")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps({"repeats": args.repeats, "trees": trees, "results": summary}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
