"""Smoke-test a recipe: a real ``kssl train`` run, shrunk to one short epoch."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path


def smoke_test_recipe(source, overrides=(), *, output_dir=None, steps: int = 1):
    """Train ``source`` (a path, a zoo name or a mapping) for ``steps`` steps and check the run.

    Runs :func:`kssl.training.train` exactly as ``kssl train`` does, with
    ``train.epochs=1``, ``train.steps_per_epoch=steps`` and no image logging, then
    ``overrides`` (``"key.path=value"`` strings; use them to shrink the data, e.g.
    ``"data.limit=128"``). Checks that the run directory holds recipe.yaml,
    model.keras and encoder.keras (both reload) and a metrics.json with a finite
    loss and finite metrics. Returns ``(run_dir, metrics)`` (metrics.json as a dict).
    """
    import keras

    from kssl.training import train

    base = [("train.epochs", 1), ("train.steps_per_epoch", steps), ("train.log_images", 0), ("train.verbose", 0)]
    output_dir = Path(output_dir) if output_dir is not None else Path(tempfile.mkdtemp(prefix="kssl-smoke-"))
    run_dir = Path(train(source, [*base, *overrides], output_dir=output_dir))
    for name in ("recipe.yaml", "model.keras", "encoder.keras", "metrics.json"):
        assert (run_dir / name).is_file(), f"the run directory {run_dir} has no {name}."
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    loss = metrics.get("final_loss")
    assert loss is not None and math.isfinite(loss), f"{run_dir}: the final loss is {loss!r}, expected a finite number."
    bad = {k: v for k, v in metrics.get("metrics", {}).items() if not math.isfinite(v)}
    assert not bad, f"{run_dir}: non-finite metrics {bad}."
    keras.models.load_model(run_dir / "model.keras")
    keras.models.load_model(run_dir / "encoder.keras")
    return run_dir, metrics
