"""Every zoo recipe's pretext task on the torch backend: build, one fit step, save, reload; prints JSON.

Run by tests/test_torch_backend.py in a fresh process, because the backend is chosen
before Keras is imported:

    python tests/torch_steps.py simclr byol ...   # zoo recipe names; default: the whole zoo

(``KSSL_STEPS_BACKEND=tensorflow`` runs the same steps on another backend, to tell a torch
problem from a problem of the recipe.)

Each recipe is built by kssl's builder with its own data, augmenter and pretext task, a
tiny encoder of the recipe's kind and a few samples. The task trains one step with
``fit`` (its own pipeline and training callbacks included), is saved to ``.keras`` and
reloaded without custom objects; the reloaded model must have the same weights, the same
inference outputs and the same ``embed`` features. One recipe's failure is recorded (its
traceback's tail) and the next recipe still runs. The last line is ``RESULT {json}``.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

os.environ["KERAS_BACKEND"] = os.environ.get("KSSL_STEPS_BACKEND", "torch")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

SAMPLES, BATCH = 16, 8
# The smallest encoder of each kind the zoo uses (the recipe's own is sized for real training).
TINY_ENCODERS = {
    "resnet": {"type": "cnn", "filters": [8]},
    "cnn": {"type": "cnn", "filters": [8]},
    "mlp": {"type": "mlp", "hidden_units": [16]},
    "bert": {"type": "bert", "num_layers": 1, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32, "dropout": 0.0},
    "vit": {"type": "vit", "patch_size": 4, "width": 16, "depth": 1, "num_heads": 2},
    "audio_cnn": {"type": "audio_cnn", "filters": [8], "n_mels": 16},
    "gpt": {"type": "gpt", "num_layers": 1, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32, "dropout": 0.0},
}
# Per-pretext settings that only make the step cheaper (dec: straight to the clustering phase, one k-means restart).
CHEAPER = {
    "dec": [("pretext.decoder_units", [16]), ("pretext.pretrain_epochs", 0), ("pretext.kmeans_restarts", 1)],
    "masked_lm": [("data.sequence_length", 16), ("data.vocabulary_size", 200)],
    "causal_lm": [("data.sequence_length", 16), ("data.vocabulary_size", 200)],
}


def overrides(recipe: dict) -> list:
    shrink = [("data.limit", SAMPLES), ("data.batch_size", BATCH), ("eval", [])]
    if recipe["optimizer"].get("warmup_steps"):  # a warm-up starts at learning rate 0: the first step would not move
        shrink.append(("optimizer.warmup_steps", 0))
    encoder = TINY_ENCODERS.get(recipe["encoder"]["type"])
    if encoder is not None:
        shrink.append(("encoder", encoder))
    return shrink + CHEAPER.get(recipe["pretext"]["type"], [])


def one_recipe(name: str, folder: Path) -> dict:
    from kssl.builder import build_all
    from kssl.recipe import load_recipe
    from kssl.testing import assert_round_trip, fit_one_step

    started = time.time()
    built = build_all(name, overrides(load_recipe(name)))
    model, x = built.model, built.data.x_train[:SAMPLES]
    loss = fit_one_step(model, x, batch_size=BATCH)  # asserts a finite loss and changed weights
    features = model.embed(x, batch_size=BATCH)
    numeric = isinstance(x, np.ndarray) and x.dtype.kind in "fiu"  # text goes through the task's own pipeline
    reloaded = assert_round_trip(model, x=x if numeric else None, tmp_path=folder)  # same class, config, weights, outputs
    again = reloaded.embed(x, batch_size=BATCH)
    np.testing.assert_allclose(again, features, rtol=1e-5, atol=1e-5, err_msg=f"{name}: embed() differs after the .keras round trip")
    return {
        "ok": True,
        "pretext": built.recipe["pretext"]["type"],
        "loss": loss,
        "features": list(features.shape),
        "outputs_compared": numeric,
        "seconds": round(time.time() - started, 1),
    }


def main(names: list[str]) -> dict:
    from kssl.zoo_recipes import ZOO_DIR

    names = names or sorted(p.stem for p in ZOO_DIR.glob("*.yaml"))
    backend = keras.backend.backend()
    results = {"backend": backend, "version": importlib.import_module(backend).__version__, "recipes": {}}
    for name in names:
        keras.utils.clear_session()
        with tempfile.TemporaryDirectory(prefix=f"kssl-torch-{name}-") as folder:
            try:
                results["recipes"][name] = one_recipe(name, Path(folder))
            except Exception as exc:  # recorded per recipe: one broken method does not hide the others
                tail = "".join(traceback.format_exception(exc))[-3000:]
                results["recipes"][name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:1000], "traceback": tail}
        print(name, "ok" if results["recipes"][name]["ok"] else "FAILED", flush=True)
    return results


if __name__ == "__main__":
    print("RESULT " + json.dumps(main(sys.argv[1:])))
