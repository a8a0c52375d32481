"""``kssl finetune``: a finished pretraining run's encoder fine-tuned into a classifier, in a new run directory."""

from __future__ import annotations

import math
import shutil
import sys
import time
from pathlib import Path

import keras
import numpy as np
import yaml

from kssl.builder import build_inputs
from kssl.callbacks import EpochTensorBoard, NonFiniteLossStop
from kssl.checks import check_int, check_number
from kssl.errors import KsslError, TrainingError, did_you_mean
from kssl.eval.label_budget import LabelBudget
from kssl.evaluation import say
from kssl.finished_run import check_run_dir
from kssl.recipe import load_recipe, parse_override
from kssl.run_dir import atomic_save_model, atomic_write_json, atomic_write_text, check_writable_dir, new_run_dir
from kssl.saving import load_model
from kssl.transfer.fine_tuning import FineTuner, accuracy, check_fine_tune_options

__all__ = ["DEFAULTS", "finetune", "finetune_settings"]

DEFAULTS = {
    "epochs": 30,
    "batch_size": 64,
    "optimizer": "adamw",
    "learning_rate": 1e-3,
    "weight_decay": 1e-4,
    "encoder_learning_rate_scale": 0.1,
    "augment": False,
    "seed": 0,
}
CLASSIFIER = "classifier.keras"


def finetune(run_dir, overrides=(), labels_per_class: int | None = None, label_fraction: float | None = None, output_dir="runs") -> Path:
    """Fine-tune the encoder of the finished run ``run_dir`` into a classifier on the run's labeled dataset.

    The dataset is rebuilt from the run's recipe.yaml. The classifier (the encoder and a new
    softmax head, :class:`kssl.transfer.fine_tuning.FineTuner`) trains on the training split,
    or on a stratified draw of it (``labels_per_class`` labels of every class, or
    ``label_fraction`` of every class, seeded by the ``seed`` setting), and is scored on the
    held-out split after every epoch and at the end.

    ``overrides`` (``"key=value"`` strings, the value parsed as YAML, or ``(key, value)`` pairs)
    change the settings of :data:`DEFAULTS`. Everything is checked before the new run
    directory ``<output_dir>/<recipe name>-finetune-<UTC timestamp>/`` is created; it receives
    finetune.yaml (the operative settings), classifier.keras (a plain ``keras.Model`` from
    inputs to class probabilities, loadable without kssl for kssl's ResNet, CNN and MLP
    encoders), history.csv, TensorBoard logs in logs/ and metrics.json. Bad input raises
    :class:`kssl.KsslError` and writes nothing; a training failure removes the new directory.
    Returns its path.
    """
    run_dir = check_run_dir(run_dir, needs=("model.keras", "encoder.keras"), then="fine-tune")
    recipe = load_recipe(run_dir / "recipe.yaml")
    settings = finetune_settings(overrides)
    budget = _budget(labels_per_class, label_fraction)
    check_writable_dir(output_dir, "--output-dir")  # before the encoder and data are loaded
    say(f"loading the encoder and data of {run_dir}")
    encoder = load_model(run_dir / "encoder.keras", compile=False)
    if len(encoder.inputs) != 1:
        raise KsslError(
            f"{str(run_dir)!r}: the run's encoder takes {len(encoder.inputs)} inputs (e.g. token ids and a padding mask); "
            "finetune supports image and vector encoders (one input). Use `kssl embed` for the features of a text run."
        )
    data = _labeled_data(recipe)
    y_train, y_test = _labels(data.y_train), _labels(data.y_test)
    if budget is not None:
        budget.check(y_train, data.class_names)
    augmenter = _augmenter(run_dir) if settings["augment"] else None

    rows = budget.draw(y_train, settings["seed"]) if budget is not None else np.arange(len(y_train))
    x, y = data.x_train[rows], y_train[rows]
    out = new_run_dir(output_dir, f"{recipe['name']}-finetune")
    try:
        return _train(out, run_dir, recipe, settings, budget, encoder, augmenter, data, x, y, y_test, keras.backend.backend())
    except BaseException:
        if not (out / CLASSIFIER).is_file():
            shutil.rmtree(out, ignore_errors=True)  # nothing worth keeping: leave nothing half-written
        raise


def finetune_settings(overrides=()) -> dict:
    """:data:`DEFAULTS` with ``overrides`` applied and checked (an unknown key or bad value raises :class:`kssl.KsslError`)."""
    settings = dict(DEFAULTS)
    for item in overrides:
        key, value = parse_override(item) if isinstance(item, str) else item
        if key not in DEFAULTS:
            raise KsslError(f"--set {key}: unknown fine-tune setting.{did_you_mean(key, DEFAULTS)} Settings: {', '.join(DEFAULTS)}.")
        settings[key] = value
    checked = check_fine_tune_options(**{k: v for k, v in settings.items() if k != "seed"})
    checked["seed"] = check_int("seed", settings["seed"], low=0)
    return {k: checked[k] for k in DEFAULTS}


def _budget(labels_per_class, label_fraction) -> LabelBudget | None:
    if labels_per_class is not None and label_fraction is not None:
        raise KsslError("--labels-per-class and --label-fraction: give one of them, not both (neither uses every training label).")
    if labels_per_class is not None:
        return LabelBudget(per_class=check_int("--labels-per-class", labels_per_class, low=1))
    if label_fraction is not None:
        return LabelBudget(fraction=check_number("--label-fraction", label_fraction, low=0.0, high=1.0, low_inclusive=False))
    return None


def _labeled_data(recipe: dict):
    """The run's dataset, rebuilt from its recipe, with labeled train and test splits (or the error that says why not)."""
    data, _ = build_inputs(recipe)
    kind = (recipe.get("data") or {}).get("type")
    if not data.has_labels:
        raise KsslError(
            f"data {kind!r}: the run's dataset has no labels, and fine-tuning trains a classifier on labeled train and test splits. "
            "Fine-tune a run whose dataset has labels (class sub-folders, a `y` array, digits, ...)."
        )
    if len(data.x_test) == 0:
        raise KsslError(f"data {kind!r}: the held-out split is empty ({len(data.x_train)} train, 0 test samples); use more data or a larger test_fraction.")
    return data


def _labels(y) -> np.ndarray:
    return np.asarray(y).astype(int).reshape(-1)


def _augmenter(run_dir: Path):
    """The run's augmenter (``augment: true``), from model.keras."""
    augmenter = load_model(run_dir / "model.keras", compile=False).augmenter
    if augmenter is None:
        raise KsslError(f"--set augment=true: the run {str(run_dir)!r} has no augmenter (its recipe has none). Leave augment false.")
    return augmenter


def _train(out: Path, source: Path, recipe: dict, settings: dict, budget, encoder, augmenter, data, x, y, y_test, backend: str) -> Path:
    budget_key = budget.key if budget is not None else "all"
    operative = {
        "source_run": str(source.resolve()),
        "budget": budget_key,
        "labels_per_class": budget.per_class if budget is not None else None,
        "label_fraction": budget.fraction if budget is not None else None,
        **settings,
        "backend": backend,
    }
    atomic_write_text(out / "finetune.yaml", yaml.safe_dump(operative, sort_keys=False))
    say(f"run directory {out}")
    epochs, batch_size = settings["epochs"], settings["batch_size"]
    steps = math.ceil(len(x) / min(batch_size, len(x)))
    num_classes = data.num_classes or int(max(y.max(), y_test.max())) + 1
    tuner = FineTuner(
        encoder,
        num_classes,
        epochs * steps,
        batch_size=batch_size,
        optimizer=settings["optimizer"],
        learning_rate=settings["learning_rate"],
        weight_decay=settings["weight_decay"],
        encoder_learning_rate_scale=settings["encoder_learning_rate_scale"],
        augmenter=augmenter,
    )
    guard = NonFiniteLossStop()
    callbacks = [guard, keras.callbacks.CSVLogger(str(out / "history.csv")), EpochTensorBoard(log_dir=str(out / "logs"), write_graph=False)]
    say(f"training a {num_classes}-class classifier for {epochs} epoch(s) on {len(x)} labels ({budget_key}), {steps} step(s) per epoch ({backend} backend)")
    started = time.time()
    history = tuner.fit(
        encoder.get_weights(),
        x,
        y,
        seed=settings["seed"],
        epochs=epochs,
        steps_per_epoch=steps,
        validation_data=(data.x_test, y_test),
        callbacks=callbacks,
        verbose=2 if sys.stdout.isatty() else 0,  # Keras prints to stdout: piped, it stays the run directory alone
    )
    seconds = time.time() - started
    if guard.bad_at is not None:
        epoch, batch, value = guard.bad_at
        raise TrainingError(f"fine-tuning stopped: the loss became {value} at epoch {epoch + 1}, batch {batch + 1}. Retry with a lower --set learning_rate=...")
    test_accuracy = accuracy(tuner.model, data.x_test, y_test)
    say(f"held-out accuracy {test_accuracy:.4f} on {len(y_test)} test samples")
    atomic_save_model(tuner.model, out / CLASSIFIER)
    losses = history.history.get("loss") or []
    metrics = {
        "source_run": str(source.resolve()),
        "recipe": recipe["name"],
        "budget": budget_key,
        "labels_used": int(len(x)),
        "num_classes": int(num_classes),
        "epochs": epochs,
        "steps_per_epoch": steps,
        "seed": settings["seed"],
        "test_samples": int(len(y_test)),
        "test_accuracy": test_accuracy,
        "final_loss": float(losses[-1]) if losses else None,
        "train_seconds": round(seconds, 2),
        "backend": backend,
    }
    atomic_write_json(out / "metrics.json", metrics)
    say(f"wrote {CLASSIFIER}, history.csv, logs/ and metrics.json to {out}")
    return out
