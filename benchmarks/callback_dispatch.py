"""What ``kssl train``'s callbacks cost per step: none, the NaN stop as it was (not async-safe), as it is.

    python benchmarks/callback_dispatch.py            # the --gpu model of throughput.py (ResNet-18, 32x32, batch 512, bf16, XLA)
    python benchmarks/callback_dispatch.py --small    # a CPU-sized SimCLR (ResNet-18 width 16, 16x16, batch 128)

Keras queues training steps ahead only when every callback hooking the end of a batch is
async-safe; on a GPU one that is not costs about a fifth of the throughput (docs/performance.md).
Each variant fits with the NaN stop, the CSV log and the checkpoint callbacks of a run
(TensorBoard is left out: it needs TensorFlow, which the GPU machine lacked), timed as
throughput.py times (a short and a long ``fit``, differenced), in alternating rounds.
Prints a table and writes JSON (``--output``). TensorFlow's Keras trainer always runs batch
hooks in step, so there the variants are expected to tie.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="a CPU-sized model instead of the GPU one")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", type=Path, default=HERE / "results" / "callback_dispatch.json")
    a = parser.parse_args(argv)

    import keras
    import throughput as T

    from kssl.builder import build_model
    from kssl.callbacks import EpochCheckpoint, NonFiniteLossStop
    from kssl.data.splits import DataSplits
    from kssl.plugins import get_registry
    from kssl.recipe import load_recipe

    recipe = dict(T.GPU_RECIPE)
    batch, side = T.GPU_BATCH, 32
    if a.small:
        recipe.update(encoder={"type": "resnet", "depth": 18, "width": 16}, train={"precision": "float32", "jit_compile": True})
        batch, side = 128, 16
    import numpy as np

    x = np.random.default_rng(0).random((batch * (a.warmup + a.steps + 1), side, side, 3), dtype=np.float32)
    model = build_model(load_recipe(recipe), DataSplits(x_train=x, batch_size=batch), get_registry())
    model.fit(x, epochs=1, steps_per_epoch=2, batch_size=batch, verbose=0)  # compile

    class BlockingNaNStop(NonFiniteLossStop):  # the NaN stop before it was marked async-safe
        async_safe = False

    def callbacks(kind: str, run_dir: Path):
        if kind == "none":
            return []
        guard = (BlockingNaNStop if kind == "blocking_nan_stop" else NonFiniteLossStop)()
        return [guard, keras.callbacks.CSVLogger(str(run_dir / "history.csv")), EpochCheckpoint(run_dir / "checkpoints", nan_guard=guard)]

    def timed(kind: str) -> float:
        run_dir = Path(tempfile.mkdtemp(prefix="kssl-cb-"))

        def run(n: int) -> float:
            start = time.perf_counter()
            model.fit(x, epochs=1, steps_per_epoch=n, batch_size=batch, shuffle=False, callbacks=callbacks(kind, run_dir), verbose=0)
            return time.perf_counter() - start

        short, long = run(a.warmup), run(a.warmup + a.steps)
        return a.steps * batch / max(long - short, 1e-9)

    kinds = ["none", "blocking_nan_stop", "kssl_callbacks"]
    runs = {k: [] for k in kinds}
    for r in range(a.rounds):
        for kind in kinds if r % 2 == 0 else kinds[::-1]:
            runs[kind].append(round(timed(kind), 1))
    report = {
        "backend": keras.backend.backend(),
        "devices": T._devices(),
        "batch_size": batch,
        "image_side": side,
        "settings": vars(a) | {"output": str(a.output)},
        "samples_per_second": runs,
        "median": {k: statistics.median(v) for k, v in runs.items()},
    }
    print(f"{'callbacks':<20} {'median samples/s':>17}   rounds")
    for kind in kinds:
        print(f"{kind:<20} {report['median'][kind]:>17.1f}   {runs[kind]}")
    a.output.parent.mkdir(parents=True, exist_ok=True)
    a.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {a.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
