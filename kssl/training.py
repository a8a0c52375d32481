"""A training run: run directory, callbacks, checkpoints, resume, evaluation, metrics.json."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import keras
import numpy as np

from kssl.builder import build_all, build_inputs, build_model, check_evaluators
from kssl.callbacks import EpochCheckpoint, EpochTensorBoard, NonFiniteLossStop, checkpoints, latest_checkpoint
from kssl.distribution import configure, replica_batches
from kssl.errors import KsslError, TrainingError
from kssl.evaluation import INIT_ENCODER, INIT_MODEL, evaluate_with_baseline, say
from kssl.monitors.from_recipe import monitor_callbacks
from kssl.recipe import dump_recipe, load_recipe
from kssl.run_dir import atomic_save_model, atomic_write_json, atomic_write_text, new_run_dir
from kssl.saving import load_model
from kssl.viz.tensorboard import log_images


def fit_input(model, x, batch_size: int, shuffle: bool = True, seed: int = 0):
    """What to hand ``model.fit``: the pretext task's own pipeline if it has one, else batches or arrays."""
    # A pipeline orders its own samples: Keras must not reshuffle a PyDataset's batches on top.
    pipeline = model.make_dataset(x, batch_size=batch_size, shuffle=shuffle, seed=seed)
    if pipeline is not None:
        return pipeline, {"shuffle": False}
    batches = replica_batches(model, x, batch_size, shuffle=shuffle, seed=seed)  # JAX data parallel: even splits
    if batches is not None:
        return batches, {"shuffle": False}
    return x, {"batch_size": batch_size, "shuffle": shuffle}


def _log_augmented_views(model, data, log_dir: Path, n: int) -> None:
    """The first ``n`` training images and two augmented views of them, in TensorBoard."""
    x = data.x_train[:n]
    if model.augmenter is None or n == 0 or getattr(x, "ndim", 0) != 4:
        return
    log_images(log_dir, "originals", np.clip(x, 0, 1), as_grid=False)
    for i in range(2):
        view = np.asarray(keras.ops.convert_to_numpy(model.augmenter(x, training=True)), dtype="float32")
        log_images(log_dir, f"augmented_view_{i + 1}", np.clip(view, 0, 1), as_grid=False)


def _callbacks(run_dir: Path, resume: bool, monitors=()):
    """The run's callbacks; ``monitors`` (kssl.monitors callbacks) go before the loggers, which write what they add to the logs."""
    guard = NonFiniteLossStop()
    # The history row goes out before the checkpoint: a kill between the two repeats an epoch's row
    # on resume instead of losing one.
    callbacks = [
        guard,
        *monitors,
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=resume),
        EpochTensorBoard(log_dir=str(run_dir / "logs"), write_graph=False),
        EpochCheckpoint(run_dir / "checkpoints", nan_guard=guard),
    ]
    return guard, callbacks


def _backend() -> str:
    return keras.backend.backend()


def _save_initial(model, run_dir: Path) -> None:
    """The weights training starts from, kept as the run's random-init baseline (exact on resume too).

    Written once: a run resumed before its first checkpoint rebuilds the same weights from the seed.
    """
    if (run_dir / INIT_MODEL).is_file() and (run_dir / INIT_ENCODER).is_file():
        return
    atomic_save_model(model, run_dir / INIT_MODEL)
    atomic_save_model(model.encoder, run_dir / INIT_ENCODER)


def train(source, overrides=(), output_dir="runs", epochs: int | None = None) -> Path:
    """Train a recipe (a path, zoo name or loaded mapping) in a new run directory; returns its path."""
    if epochs is not None:
        overrides = [*overrides, ("train.epochs", epochs)]
    say("loading recipe, data and model")
    built = build_all(source, overrides)  # every input error surfaces before anything is written
    recipe = built.recipe
    recipe["backend"] = _backend()
    run_dir = new_run_dir(output_dir, recipe["name"])
    try:
        atomic_write_text(run_dir / "recipe.yaml", dump_recipe(recipe))
        say(f"run directory {run_dir}")
        _save_initial(built.model, run_dir)
        _log_augmented_views(built.model, built.data, run_dir / "logs" / "images", recipe["train"]["log_images"])
        return _fit_and_finish(run_dir, recipe, built.model, built.data, built.evaluators, initial_epoch=0)
    except KsslError:
        if not checkpoints(run_dir / "checkpoints"):
            shutil.rmtree(run_dir, ignore_errors=True)  # nothing worth keeping: leave nothing half-written
        raise


def resume(run_dir, epochs: int | None = None, recipe: dict | None = None) -> Path:
    """Continue an interrupted run from its newest checkpoint (``recipe``: its recipe.yaml, if already loaded)."""
    run_dir = Path(run_dir)
    recipe_path = run_dir / "recipe.yaml"
    if not recipe_path.is_file():
        raise KsslError(f"--resume {str(run_dir)!r}: not a kssl run directory (no recipe.yaml). Give the folder `kssl train` printed.")
    overrides = [("train.epochs", epochs)] if epochs is not None else []
    recipe = load_recipe(recipe if recipe is not None else recipe_path, overrides)
    if recipe.get("backend") and recipe["backend"] != _backend():
        raise KsslError(f"--resume: the run used the {recipe['backend']} backend, but Keras is on {_backend()}. Resume with --backend {recipe['backend']}.")
    found = latest_checkpoint(run_dir / "checkpoints")
    if _finished(run_dir, recipe["train"]["epochs"]):
        raise KsslError(f"--resume {str(run_dir)!r}: this run already finished. Raise --epochs to train further, or start a new run.")
    placement = configure(recipe["distribution"])  # first: multi-worker set-up must precede any computation
    data, evaluators = build_inputs(recipe)
    if found is None:
        say("no checkpoint yet: starting from epoch 0")
        model, initial_epoch = build_model(recipe, data, placement=placement), 0
        _save_initial(model, run_dir)
    else:
        path, initial_epoch = found
        say(f"resuming from {path.name} ({initial_epoch} epochs done)")
        with placement.scope():  # the strategy the run trains under
            model = load_model(path)
            placement.prepare(model)
    check_evaluators(evaluators, model)
    atomic_write_text(recipe_path, dump_recipe(recipe))  # records a raised --epochs
    return _fit_and_finish(run_dir, recipe, model, data, evaluators, initial_epoch=initial_epoch)


def _finished(run_dir: Path, epochs: int) -> bool:
    """Whether the run already finished ``epochs`` epochs (or stopped earlier by its own rule, e.g. DEC's)."""
    try:
        return epochs <= int(json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))["epochs"])
    except (OSError, ValueError, KeyError, TypeError):  # no metrics.json yet (interrupted) or unreadable: resume
        return False


def _fit_and_finish(run_dir: Path, recipe: dict, model, data, evaluators, initial_epoch: int) -> Path:
    train_cfg = recipe["train"]
    guard, callbacks = _callbacks(run_dir, resume=initial_epoch > 0, monitors=monitor_callbacks(recipe, data))
    x, fit_kwargs = fit_input(model, data.x_train, data.batch_size, seed=recipe["seed"])
    epochs = train_cfg["epochs"]
    say(f"training {type(model).__name__} for {epochs - initial_epoch} epoch(s) on {len(data.x_train)} samples ({_backend()} backend)")
    started = time.time()
    history = model.fit(
        x,
        epochs=epochs,
        initial_epoch=initial_epoch,
        steps_per_epoch=train_cfg["steps_per_epoch"],
        callbacks=callbacks,
        verbose=train_cfg["verbose"] if train_cfg["verbose"] != "auto" else (1 if sys.stdout.isatty() else 2),
        **fit_kwargs,
    )
    seconds = time.time() - started
    if guard.bad_at is not None:
        epoch, batch, value = guard.bad_at
        raise TrainingError(
            f"training stopped: the loss became {value} at epoch {epoch + 1}, batch {batch + 1}. "
            f"The last good checkpoint is kept in {run_dir / 'checkpoints'}. "
            "Lower optimizer.learning_rate (or raise pretext.temperature), then resume with "
            f"`kssl train --resume {run_dir}` or start a new run."
        )
    atomic_save_model(model, run_dir / "model.keras")
    atomic_save_model(model.encoder, run_dir / "encoder.keras")
    model.write_artifacts(run_dir, data)
    metrics = evaluate_with_baseline(run_dir, recipe, model, data, evaluators, step=epochs) if evaluators else {}
    losses = history.history.get("loss") or []
    summary = {
        "recipe": recipe["name"],
        "backend": _backend(),
        "epochs": epochs,
        "epochs_run": initial_epoch + len(losses),  # fewer than epochs when training stopped early
        "seed": recipe["seed"],
        "train_samples": int(len(data.x_train)),
        "train_seconds_this_session": round(seconds, 2),
        "final_loss": float(losses[-1]) if losses else None,
        "metrics": metrics,
    }
    atomic_write_json(run_dir / "metrics.json", summary)
    if metrics:
        width = max(len(k) for k in metrics)
        for k, v in metrics.items():
            say(f"  {k:<{width}}  {v:.4f}")
    return run_dir
