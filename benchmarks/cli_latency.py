"""Wall time of kssl's commands, for one or more kssl source trees side by side.

    python benchmarks/cli_latency.py --trees before=/path/to/old/checkout after=. --repeats 7
    python benchmarks/cli_latency.py --commands "kssl eval /not/a/run" "kssl plugins"

The commands: `import keras` (the floor of anything that trains), `import kssl`, the answers
that need no model (`--help`, `zoo`, a missing recipe, malformed YAML, a recipe with an
unknown key, `eval` of a folder that does not exist: each should exit before Keras is
imported), `kssl plugins` and `kssl validate zoo/simclr.yaml`. Each command's exit code is
checked (2 for the bad inputs). Each tree's commands run alternately (before, after, before,
...) so that the machine's load affects both alike; the table gives the median and min
seconds, and the ratio to the first tree's median. The tree is put first on PYTHONPATH, so the
installed kssl (same dependencies) is shadowed by that tree's source. Writes
benchmarks/results/cli_latency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KSSL = [sys.executable, "-m", "kssl"]
# name -> (argv, expected exit code); {tmp} is a folder holding the bad recipes below
COMMANDS = {
    "import keras (floor)": ([sys.executable, "-c", "import keras"], 0),
    "import kssl": ([sys.executable, "-c", "import kssl"], 0),
    "kssl --help": ([*KSSL, "--help"], 0),
    "kssl zoo": ([*KSSL, "zoo"], 0),
    "kssl train missing.yaml": ([*KSSL, "train", "{tmp}/missing.yaml"], 2),
    "kssl train bad-yaml": ([*KSSL, "train", "{tmp}/bad-yaml.yaml"], 2),
    "kssl validate unknown-key": ([*KSSL, "validate", "{tmp}/unknown-key.yaml"], 2),
    "kssl eval /not/a/run": ([*KSSL, "eval", "/not/a/run"], 2),
    "kssl plugins": ([*KSSL, "plugins"], 0),
    "kssl validate simclr": ([*KSSL, "validate", "zoo/simclr.yaml"], 0),
}
BAD_RECIPES = {
    "bad-yaml.yaml": "name: x\ndata: {type: digits\n",
    "unknown-key.yaml": "name: x\ncolour: blue\ndata: {type: digits}\nencoder: {type: mlp}\npretext: {type: simclr}\n",
}


def run_once(tree: Path, command: list[str], expected: int, tmp: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree), "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [part.replace("{tmp}", tmp) for part in command]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != expected:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode} (expected {expected}) in {tree}:\n{done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trees", nargs="+", default=["this=."], help="NAME=PATH pairs of kssl checkouts")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--commands", nargs="+", default=list(COMMANDS), choices=list(COMMANDS), metavar="NAME", help="a subset of the commands, by name")
    parser.add_argument("--output", default=str(Path(__file__).parent / "results" / "cli_latency.json"))
    args = parser.parse_args()
    trees = dict(t.split("=", 1) for t in args.trees)
    times = {c: {name: [] for name in trees} for c in args.commands}
    with tempfile.TemporaryDirectory() as tmp:
        for file_name, text in BAD_RECIPES.items():
            Path(tmp, file_name).write_text(text, encoding="utf-8")
        for _ in range(args.repeats):
            for command in args.commands:
                argv, expected = COMMANDS[command]
                for name, path in trees.items():
                    times[command][name].append(run_once(Path(path).resolve(), argv, expected, tmp))
    first = next(iter(trees))
    print(f"{'command':<26} {'tree':<10} {'median s':>9} {'min s':>7} {'ratio':>6}")
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
            print(f"{command:<26} {name:<10} {median:>9.2f} {min(values):>7.2f} {median / base:>6.2f}")
    load = [round(v, 2) for v in os.getloadavg()]
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    record = {"repeats": args.repeats, "trees": trees, "cpus": os.cpu_count(), "load_average_after_1_5_15": load, "results": summary}
    Path(args.output).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
