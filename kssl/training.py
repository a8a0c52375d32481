"""A training run: run directory, callbacks, checkpoints, resume, evaluation, metrics.json."""

from __future__ import annotations

import contextlib
import csv
import json
import shutil
import sys
import time
from pathlib import Path

import keras
import numpy as np

from kssl.builder import build_all, build_inputs, build_model, check_evaluators, steps_total
from kssl.callbacks import DAMAGED_PREFIX, EpochCheckpoint, EpochHistory, EpochTensorBoard, NonFiniteLossStop, checkpoints, latest_checkpoint, trim_history
from kssl.data.batches import ShuffledBatches
from kssl.data.epoch_steps import with_epoch_steps
from kssl.data.image_stream import ImageStream
from kssl.data.stream_input import explain_decode_errors, stream_fit_input
from kssl.distribution import configure, replica_batches
from kssl.errors import KsslError, TrainingError
from kssl.evaluation import INIT_ENCODER, INIT_MODEL, evaluate_with_baseline, say
from kssl.finished_run import check_run_dir
from kssl.monitors.from_recipe import monitor_callbacks
from kssl.optimizers import stretch_schedule
from kssl.recipe import dump_recipe, load_recipe
from kssl.run_dir import (
    DiskFullError,
    atomic_save_model,
    atomic_write_json,
    atomic_write_text,
    check_writable_dir,
    is_disk_full,
    new_run_dir,
    remove_temporary_files,
)
from kssl.saving import ModelFileError, check_model_file, load_model
from kssl.viz.tensorboard import log_images


def fit_input(model, x, batch_size: int, shuffle: bool = True, seed: int = 0, steps_per_epoch: int | None = None, initial_epoch: int = 0):
    """What to hand ``model.fit``: the pretext task's own pipeline if it has one, else batches or arrays.

    With ``steps_per_epoch``, every epoch gets exactly that many batches, below or above one pass
    (:func:`kssl.data.epoch_steps.with_epoch_steps`); arrays are then fed as seeded
    :class:`~kssl.data.batches.ShuffledBatches`. A streamed dataset (:class:`~kssl.data.image_stream.ImageStream`)
    becomes its sharded tf.data pipeline, starting at ``initial_epoch`` (:mod:`kssl.data.stream_input`).
    """
    if isinstance(x, ImageStream):
        return stream_fit_input(model, x, batch_size, shuffle, seed, steps_per_epoch, initial_epoch)
    # A pipeline orders its own samples: Keras must not reshuffle a PyDataset's batches on top.
    pipeline = model.make_dataset(x, batch_size=batch_size, shuffle=shuffle, seed=seed)
    if pipeline is None:
        pipeline = replica_batches(model, x, batch_size, shuffle=shuffle, seed=seed)  # JAX data parallel: even splits
    if pipeline is None and steps_per_epoch is None:
        return x, {"batch_size": batch_size, "shuffle": shuffle}
    if pipeline is None:
        pipeline = ShuffledBatches(x, batch_size, shuffle, seed)
    return with_epoch_steps(pipeline, steps_per_epoch), {"shuffle": False}


def _log_augmented_views(model, data, log_dir: Path, n: int) -> None:
    """The first ``n`` training images and two augmented views of them, in TensorBoard."""
    x = data.x_train[:n]
    if model.augmenter is not None and n and np.ndim(x) == 3 and "sample_rate" in data.context:  # waveforms (N, T, 1)
        from kssl.viz.audio_pictures import write_audio_pictures  # audio only: matplotlib and the log-mel front end

        views = [np.asarray(keras.ops.convert_to_numpy(model.augmenter(x, training=True))) for _ in range(2)]
        write_audio_pictures(log_dir.parent.parent, x, views, data.context["sample_rate"])
        return
    if model.augmenter is None or n == 0 or np.ndim(x) != 4:
        return
    log_images(log_dir, "originals", np.clip(x, 0, 1), as_grid=False)
    for i in range(2):
        view = np.asarray(keras.ops.convert_to_numpy(model.augmenter(x, training=True)), dtype="float32")
        log_images(log_dir, f"augmented_view_{i + 1}", np.clip(view, 0, 1), as_grid=False)


def _callbacks(run_dir: Path, resume: bool, monitors=()):
    """The run's callbacks; ``monitors`` (kssl.monitors callbacks) go before the loggers, which write what they add to the logs."""
    guard = NonFiniteLossStop()
    # The history row goes out before the checkpoint: a kill between the two leaves a row ahead of the
    # checkpoint, which resume drops (trim_history) before training that epoch again.
    callbacks = [
        guard,
        *monitors,
        EpochHistory(run_dir / "history.csv", append=resume),
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
    check_writable_dir(output_dir, "--output-dir")  # before the minutes a build can take
    say("loading recipe, data and model")
    built = build_all(source, overrides)  # every input error surfaces before anything is written
    recipe = built.recipe
    recipe["backend"] = _backend()
    run_dir = new_run_dir(output_dir, recipe["name"])
    try:
        with _explain_disk_full(run_dir):
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
    run_dir = check_run_dir(run_dir, needs=(), option="--resume")
    recipe_path = run_dir / "recipe.yaml"
    overrides = [("train.epochs", epochs)] if epochs is not None else []
    recipe = load_recipe(recipe if recipe is not None else recipe_path, overrides)
    if recipe.get("backend") and recipe["backend"] != _backend():
        raise KsslError(f"--resume: the run used the {recipe['backend']} backend, but Keras is on {_backend()}. Resume with --backend {recipe['backend']}.")
    if _finished(run_dir, recipe["train"]["epochs"]):
        raise KsslError(f"--resume {str(run_dir)!r}: this run already finished. Raise --epochs to train further, or start a new run.")
    check_writable_dir(run_dir, "--resume")
    placement = configure(recipe["distribution"])  # first: multi-worker set-up must precede any computation
    data, evaluators = build_inputs(recipe)
    with _explain_disk_full(run_dir):
        found = _readable_checkpoint(run_dir / "checkpoints")
        if found is None:
            model, initial_epoch = build_model(recipe, data, placement=placement), 0
            _save_initial(model, run_dir)
        else:
            path, initial_epoch = found
            say(f"resuming from {path.name} ({initial_epoch} epochs done)")
            with placement.scope():  # the strategy the run trains under
                model = load_model(path)
                placement.prepare(model)
            model.use_context(data.context)  # what the checkpoint does not hold (e.g. CLIP's captions)
            stretched = stretch_schedule(model.optimizer, recipe["optimizer"], steps_total(recipe, data))
            if stretched:
                say(f"learning-rate schedule: cosine decay over {stretched[1]} steps instead of {stretched[0]} (train.epochs changed)")
        check_evaluators(evaluators, model)
        trim_history(run_dir / "history.csv", initial_epoch)  # rows logged after the checkpoint are trained again
        atomic_write_text(recipe_path, dump_recipe(recipe))  # records a raised --epochs
        return _fit_and_finish(run_dir, recipe, model, data, evaluators, initial_epoch=initial_epoch)


def _readable_checkpoint(checkpoint_dir: Path) -> tuple[Path, int] | None:
    """``(path, epochs_done)`` of the newest checkpoint whose archive is intact, or None (said why).

    A damaged one (truncated, failing its checksums) is renamed ``damaged-epoch-N.keras`` and
    the one before it is tried. Only the archive is checked here: an intact file that Keras
    cannot deserialise (e.g. a plugin no longer installed) is an error, not a reason to go back.
    """
    for done, path in reversed(checkpoints(checkpoint_dir)):
        try:
            check_model_file(path)
            return path, done
        except ModelFileError as exc:
            path.replace(path.with_name(f"{DAMAGED_PREFIX}{path.name}"))
            say(f"{path.name} cannot be read ({exc.reason}); renamed it {DAMAGED_PREFIX}{path.name} and trying the checkpoint before it")
    damaged = any(Path(checkpoint_dir).glob(f"{DAMAGED_PREFIX}*.keras"))
    say(f"no {'readable ' if damaged else ''}checkpoint: starting from epoch 0")
    return None


@contextlib.contextmanager
def _explain_disk_full(run_dir: Path):
    """Turn a full disk (anywhere in the block) into a :class:`DiskFullError` that says what was kept and how to go on.

    Temporary files are removed; the run stays resumable from its newest checkpoint (or from
    epoch 0 when it has none). A run whose recipe.yaml could not be written is removed.
    """
    try:
        yield
    except BaseException as exc:
        if not is_disk_full(exc):
            raise
        remove_temporary_files(run_dir)
        where = exc.path if isinstance(exc, DiskFullError) else (getattr(exc, "filename", None) or run_dir)
        if not (run_dir / "recipe.yaml").is_file():
            shutil.rmtree(run_dir, ignore_errors=True)
            raise DiskFullError(where, f"no space left on the device while writing {where}; nothing was kept. Free some space, then train again.") from None
        found = latest_checkpoint(run_dir / "checkpoints")
        kept = f"the newest checkpoint, {found[0].name} ({found[1]} epochs), is kept" if found else "the run has no checkpoint yet: it starts again at epoch 0"
        raise DiskFullError(
            where,
            f"no space left on the device while writing {where}. The temporary files were removed and {kept}. "
            f"Free some space, then continue with `kssl train --resume {run_dir}`.",
        ) from None


def _finished(run_dir: Path, epochs: int) -> bool:
    """Whether the run already finished ``epochs`` epochs (or stopped earlier by its own rule, e.g. DEC's)."""
    try:
        return epochs <= int(json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))["epochs"])
    except (OSError, ValueError, KeyError, TypeError):  # no metrics.json yet (interrupted) or unreadable: resume
        return False


def _fit_and_finish(run_dir: Path, recipe: dict, model, data, evaluators, initial_epoch: int) -> Path:
    train_cfg = recipe["train"]
    guard, callbacks = _callbacks(run_dir, resume=initial_epoch > 0, monitors=monitor_callbacks(recipe, data))
    steps = train_cfg["steps_per_epoch"]
    x, fit_kwargs = fit_input(model, data.x_train, data.batch_size, seed=recipe["seed"], steps_per_epoch=steps, initial_epoch=initial_epoch)
    fit_kwargs = {"steps_per_epoch": steps, **fit_kwargs}  # a stream sets its own (one pass of its shard per epoch)
    epochs = train_cfg["epochs"]
    say(f"training {type(model).__name__} for {epochs - initial_epoch} epoch(s) on {len(data.x_train)} samples ({_backend()} backend)")
    started = time.time()
    with explain_decode_errors(data.x_train):
        history = model.fit(
            x,
            epochs=epochs,
            initial_epoch=initial_epoch,
            callbacks=callbacks,
            verbose=train_cfg["verbose"] if train_cfg["verbose"] != "auto" else (1 if sys.stdout.isatty() else 2),
            **fit_kwargs,
        )
    seconds = time.time() - started
    if guard.bad_at is not None:
        raise TrainingError(_diverged(run_dir, *guard.bad_at))
    atomic_save_model(model, run_dir / "model.keras")
    atomic_save_model(model.encoder, run_dir / "encoder.keras")
    model.write_artifacts(run_dir, data)
    timings: dict = {}
    metrics = evaluate_with_baseline(run_dir, recipe, model, data, evaluators, step=epochs, timings=timings) if evaluators else {}
    losses = history.history.get("loss") or []
    final_loss = float(losses[-1]) if losses else _last_logged_loss(run_dir / "history.csv")  # no epoch left: the log's
    summary = {
        "recipe": recipe["name"],
        "backend": _backend(),
        "epochs": epochs,
        "epochs_run": initial_epoch + len(losses),  # fewer than epochs when training stopped early
        "seed": recipe["seed"],
        "train_samples": int(len(data.x_train)),
        "train_seconds_this_session": round(seconds, 2),
        "eval_seconds": timings.get("eval_seconds", 0.0),
        "eval_seconds_by_evaluator": timings.get("eval_seconds_by_evaluator", {}),
        "final_loss": final_loss,
        "metrics": metrics,
    }
    atomic_write_json(run_dir / "metrics.json", summary)
    if metrics:
        width = max(len(k) for k in metrics)
        for k, v in metrics.items():
            say(f"  {k:<{width}}  {v:.4f}")
    return run_dir


def _diverged(run_dir: Path, epoch: int, batch: int, value: float) -> str:
    """The message for a NaN/Inf loss: where, what was kept (only what exists), what to change."""
    found = latest_checkpoint(run_dir / "checkpoints")
    kept = (
        f"The last good checkpoint, {found[0]} ({found[1]} epochs), is kept (kssl.load_model reads it)."
        if found
        else "No epoch finished with a finite loss, so no checkpoint was written."
    )
    return (
        f"training stopped: the loss became {value} at epoch {epoch + 1}, batch {batch + 1}; no model.keras was written. {kept} "
        "Start a new run with a lower optimizer.learning_rate, or limit the step size with optimizer.clipnorm (e.g. 1.0) "
        "or a warm-up (optimizer.schedule: cosine with optimizer.warmup_steps). "
        "(`--resume` would continue with the checkpoint's own optimizer settings.)"
    )


def _last_logged_loss(history_csv: Path) -> float | None:
    """The ``loss`` of the last row of history.csv, or None."""
    try:
        with open(history_csv, newline="", encoding="utf-8") as f:
            rows = [row for row in csv.DictReader(f) if row.get("loss") not in (None, "", "NA")]
        return float(rows[-1]["loss"]) if rows else None
    except (OSError, ValueError):
        return None
