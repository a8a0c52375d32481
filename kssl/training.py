"""A training run: run directory, callbacks, checkpoints, resume, evaluation, metrics.json."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from kssl.errors import KsslError, TrainingError
from kssl.recipe import dump_recipe, load_recipe


def _say(message: str) -> None:
    print(f"kssl: {message}", file=sys.stderr, flush=True)


def fit_input(model, x, batch_size: int, shuffle: bool = True, seed: int = 0):
    """What to hand ``model.fit``: the pretext task's own pipeline if it has one, else batches or arrays."""
    from kssl.distribution import replica_batches

    pipeline = model.make_dataset(x, batch_size=batch_size, shuffle=shuffle, seed=seed)
    if pipeline is not None:
        return pipeline, {}
    batches = replica_batches(model, x, batch_size, shuffle=shuffle, seed=seed)  # JAX data parallel: even splits
    if batches is not None:
        return batches, {}
    return x, {"batch_size": batch_size, "shuffle": shuffle}


def evaluate(model, data, evaluators) -> dict:
    """Run every evaluator on ``model``; returns one flat ``{metric: value}``."""
    scores = {}
    for evaluator in evaluators:
        result = evaluator.evaluate(model, data)
        scores.update({k: float(v) for k, v in result.items()})
    return scores


def _log_scalars(log_dir: Path, scores: dict, step: int) -> None:
    try:
        import tensorflow as tf
    except ImportError:  # TensorBoard event files need TensorFlow's summary writer
        return
    with tf.summary.create_file_writer(str(log_dir / "eval")).as_default():
        for name, value in scores.items():
            tf.summary.scalar(name, value, step=step)


def _log_augmented_views(model, data, log_dir: Path, n: int) -> None:
    augmenter = getattr(model, "augmenter", None)
    x = data.x_train[:n]
    if augmenter is None or n == 0 or getattr(x, "ndim", 0) != 4:
        return
    try:
        import numpy as np
        import tensorflow as tf
    except ImportError:
        return
    import keras

    views = [np.asarray(keras.ops.convert_to_numpy(augmenter(x, training=True)), dtype="float32") for _ in range(2)]
    with tf.summary.create_file_writer(str(log_dir / "images")).as_default():
        tf.summary.image("originals", np.clip(x, 0, 1), step=0, max_outputs=n)
        for i, v in enumerate(views):
            tf.summary.image(f"augmented_view_{i + 1}", np.clip(v, 0, 1), step=0, max_outputs=n)


def _callbacks(run_dir: Path, resume: bool):
    import keras

    from kssl.callbacks import EpochCheckpoint, EpochTensorBoard, NonFiniteLossStop

    guard = NonFiniteLossStop()
    # The history row goes out before the checkpoint: a kill between the two repeats an epoch's row
    # on resume instead of losing one.
    callbacks = [
        guard,
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=resume),
        EpochTensorBoard(log_dir=str(run_dir / "logs"), write_graph=False),
        EpochCheckpoint(run_dir / "checkpoints", nan_guard=guard),
    ]
    return guard, callbacks


def _backend() -> str:
    import keras

    return keras.backend.backend()


def train(source, overrides=(), output_dir="runs", epochs: int | None = None) -> Path:
    """Train a recipe in a new run directory; returns its path."""
    from kssl.builder import build_all

    if epochs is not None:
        overrides = [*overrides, ("train.epochs", epochs)]
    _say("loading recipe, data and model")
    built = build_all(source, overrides)  # every input error surfaces before anything is written
    recipe = built.recipe
    recipe["backend"] = _backend()
    from kssl.run_dir import atomic_write_text, new_run_dir

    run_dir = new_run_dir(output_dir, recipe["name"])
    try:
        atomic_write_text(run_dir / "recipe.yaml", dump_recipe(recipe))
        _say(f"run directory {run_dir}")
        _log_augmented_views(built.model, built.data, run_dir / "logs", recipe["train"]["log_images"])
        return _fit_and_finish(run_dir, recipe, built.model, built.data, built.evaluators, initial_epoch=0)
    except KsslError:
        from kssl.callbacks import checkpoints

        if not checkpoints(run_dir / "checkpoints"):
            shutil.rmtree(run_dir, ignore_errors=True)  # nothing worth keeping: leave nothing half-written
        raise


def resume(run_dir, epochs: int | None = None) -> Path:
    """Continue an interrupted run from its newest checkpoint."""
    import keras

    from kssl.builder import build_inputs, build_model
    from kssl.callbacks import latest_checkpoint
    from kssl.distribution import configure
    from kssl.run_dir import atomic_write_text

    run_dir = Path(run_dir)
    recipe_path = run_dir / "recipe.yaml"
    if not recipe_path.is_file():
        raise KsslError(f"--resume {str(run_dir)!r}: not a kssl run directory (no recipe.yaml). Give the folder `kssl train` printed.")
    overrides = [("train.epochs", epochs)] if epochs is not None else []
    recipe = load_recipe(recipe_path, overrides)
    if recipe.get("backend") and recipe["backend"] != _backend():
        raise KsslError(f"--resume: the run used the {recipe['backend']} backend, but Keras is on {_backend()}. Resume with --backend {recipe['backend']}.")
    found = latest_checkpoint(run_dir / "checkpoints")
    if _finished(run_dir, recipe["train"]["epochs"]):
        raise KsslError(f"--resume {str(run_dir)!r}: this run already finished. Raise --epochs to train further, or start a new run.")
    configure(recipe["distribution"])  # first: multi-worker set-up must precede any computation
    data, evaluators = build_inputs(recipe)
    if found is None:
        _say("no checkpoint yet: starting from epoch 0")
        model, initial_epoch = build_model(recipe, data), 0
    else:
        path, initial_epoch = found
        _say(f"resuming from {path.name} ({initial_epoch} epochs done)")
        from kssl.distribution import distribution_scope

        with distribution_scope(recipe["distribution"]) as placement:  # the strategy the run trains under
            model = keras.models.load_model(path)
            placement.prepare(model)
    atomic_write_text(recipe_path, dump_recipe(recipe))  # records a raised --epochs
    return _fit_and_finish(run_dir, recipe, model, data, evaluators, initial_epoch=initial_epoch)


def _finished(run_dir: Path, epochs: int) -> bool:
    """Whether the run already finished ``epochs`` epochs (or stopped earlier by its own rule, e.g. DEC's)."""
    try:
        return epochs <= int(json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))["epochs"])
    except (OSError, ValueError, KeyError, TypeError):  # no metrics.json yet (interrupted) or unreadable: resume
        return False


def _fit_and_finish(run_dir: Path, recipe: dict, model, data, evaluators, initial_epoch: int) -> Path:
    from kssl.builder import build_model
    from kssl.run_dir import atomic_save_model, atomic_write_json

    train_cfg = recipe["train"]
    guard, callbacks = _callbacks(run_dir, resume=initial_epoch > 0)
    x, fit_kwargs = fit_input(model, data.x_train, data.batch_size, seed=recipe["seed"])
    epochs = train_cfg["epochs"]
    _say(f"training {type(model).__name__} for {epochs - initial_epoch} epoch(s) on {len(data.x_train)} samples ({_backend()} backend)")
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
    if hasattr(model, "write_artifacts"):
        model.write_artifacts(run_dir, data)

    metrics = {}
    if evaluators:
        from kssl.eval.features import cached_features

        with cached_features():  # the evaluators and their pictures embed each split once per model
            _say("evaluating the trained model")
            metrics = evaluate(model, data, evaluators)
            for evaluator in evaluators:
                if hasattr(evaluator, "write_artifacts"):
                    evaluator.write_artifacts(run_dir, model, data)
            _say("evaluating a randomly initialised model for comparison")
            baseline = build_model(recipe, data)  # same seed: the weights training started from
            metrics.update({f"random_init.{k}": v for k, v in evaluate(baseline, data, evaluators).items()})
        _log_scalars(run_dir / "logs", metrics, step=epochs)
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
            _say(f"  {k:<{width}}  {v:.4f}")
    return run_dir


def evaluate_run(run_dir) -> dict:
    """Re-score a finished run's saved model with its recipe's evaluators."""
    import keras

    from kssl.builder import build_inputs

    run_dir = Path(run_dir)
    if not (run_dir / "recipe.yaml").is_file():
        raise KsslError(f"{str(run_dir)!r}: not a kssl run directory (no recipe.yaml). Give the folder `kssl train` printed.")
    if not (run_dir / "model.keras").is_file():
        raise KsslError(f"{str(run_dir)!r}: has no model.keras: the run did not finish. Resume it with `kssl train --resume {run_dir}`.")
    recipe = load_recipe(run_dir / "recipe.yaml")
    data, evaluators = build_inputs(recipe)
    if not evaluators:
        raise KsslError(f"{run_dir / 'recipe.yaml'}: the recipe lists no evaluators (eval: [...]); nothing to score.")
    model = keras.models.load_model(run_dir / "model.keras")
    from kssl.eval.features import cached_features

    with cached_features():
        return evaluate(model, data, evaluators)
