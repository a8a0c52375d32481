"""One machine, one seed: a whole run repeats exactly, and its random-init baseline is the state training started from."""

import json

import numpy as np
from tiny_runs import spy_on_fit, tiny_mlp, weights

import kssl
from kssl.training import train


def test_a_run_repeats_exactly_and_its_baseline_is_where_training_started(tmp_path, monkeypatch):
    seen = spy_on_fit(monkeypatch)
    recipe = tiny_mlp(epochs=2, eval=[{"type": "knn", "k": 5}])
    runs = [train(recipe, output_dir=tmp_path / name) for name in ("a", "b")]
    first, second = (json.loads((run / "metrics.json").read_text()) for run in runs)
    assert first["final_loss"] == second["final_loss"]
    assert first["metrics"] == second["metrics"] and "knn_accuracy" in first["metrics"]
    assert (runs[0] / "history.csv").read_text() == (runs[1] / "history.csv").read_text()
    for run, start in zip(runs, seen, strict=True):
        for saved, started in ((run / "model-init.keras", start["weights"]), (run / "encoder-init.keras", start["encoder"])):
            for a, b in zip(weights(kssl.load_model(saved, compile=False)), started, strict=True):
                np.testing.assert_array_equal(a, b)
    # Not trivially equal: training moved the weights away from the baseline.
    trained = weights(kssl.load_model(runs[0] / "encoder.keras", compile=False))
    assert any(not np.array_equal(a, b) for a, b in zip(trained, seen[0]["encoder"], strict=True))
