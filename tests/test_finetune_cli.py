"""``kssl finetune``: a finished run's encoder fine-tuned into a classifier, in a new run directory."""

import csv
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from kssl.cli import main

RECIPE = {
    "name": "tiny-finetune",
    "seed": 0,
    "data": {"type": "digits", "image_size": 8, "channels": 1, "batch_size": 64, "limit": 300},
    "augmenter": {"type": "simclr", "crop_scale": [0.5, 1.0], "blur_probability": 0.0},
    "encoder": {"type": "mlp", "hidden_units": [32]},
    "pretext": {"type": "simclr", "projection_dim": 8, "projection_hidden_dims": [16]},
    "train": {"epochs": 1, "log_images": 0, "verbose": 0},
    "eval": [],
}
FAST = ["--set", "batch_size=32", "--set", "learning_rate=1e-2", "--set", "encoder_learning_rate_scale=1"]  # 10 steps per epoch on 300 labels
EPOCHS = 6


def _finetune(*args):
    return CliRunner().invoke(main, ["finetune", *map(str, args)], catch_exceptions=False)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished tiny SimCLR run (mlp encoder, 300 8x8 digits)."""
    from kssl.training import train

    return train(RECIPE, output_dir=tmp_path_factory.mktemp("runs"))


@pytest.fixture(scope="module")
def data():
    """The run's dataset, rebuilt from its recipe as kssl finetune does."""
    from kssl.builder import build_inputs
    from kssl.recipe import load_recipe

    return build_inputs(load_recipe(RECIPE))[0]


@pytest.fixture(scope="module")
def finetuned(run, tmp_path_factory):
    """``kssl finetune RUN --epochs N`` on all training labels: (result, the new run directory)."""
    out = tmp_path_factory.mktemp("finetuned")
    result = _finetune(run, "--epochs", EPOCHS, *FAST, "--output-dir", out)
    assert result.exit_code == 0, result.output
    (new,) = out.iterdir()
    return result, new


def test_finetune_writes_a_new_run_directory_with_every_file(run, finetuned):
    result, new = finetuned
    assert result.stdout.strip() == str(new)
    assert new.name.startswith("tiny-finetune-finetune-")
    assert {p.name for p in new.iterdir()} == {"finetune.yaml", "classifier.keras", "history.csv", "logs", "metrics.json"}
    assert any((new / "logs").rglob("events.out.tfevents.*"))
    settings = yaml.safe_load((new / "finetune.yaml").read_text())
    assert settings["source_run"] == str(run.resolve())
    assert settings["budget"] == "all" and settings["labels_per_class"] is None and settings["label_fraction"] is None
    assert settings["epochs"] == EPOCHS and settings["batch_size"] == 32 and settings["learning_rate"] == 1e-2
    assert settings["encoder_learning_rate_scale"] == 1.0 and settings["optimizer"] == "adamw" and settings["weight_decay"] == 1e-4
    assert settings["augment"] is False and settings["seed"] == 0 and settings["backend"] == os.environ["KERAS_BACKEND"]
    with open(new / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == list(range(EPOCHS))
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rows[0])
    # The classifier learns during fine-tuning: held-out accuracy rises and the training loss falls over the epochs.
    assert float(rows[-1]["val_accuracy"]) > float(rows[0]["val_accuracy"]) and float(rows[-1]["loss"]) < float(rows[0]["loss"]), rows


def test_metrics_record_the_held_out_accuracy_of_the_saved_classifier(run, finetuned, data):
    from kssl.saving import load_model
    from kssl.transfer.fine_tuning import accuracy

    _, new = finetuned
    metrics = json.loads((new / "metrics.json").read_text())
    assert metrics["source_run"] == str(run.resolve()) and metrics["budget"] == "all"
    assert metrics["labels_used"] == len(data.x_train) == 300
    assert metrics["epochs"] == EPOCHS and metrics["backend"] == os.environ["KERAS_BACKEND"] and metrics["train_seconds"] > 0
    classifier = load_model(new / "classifier.keras", compile=False)
    assert metrics["test_samples"] == len(data.y_test)
    assert metrics["test_accuracy"] == pytest.approx(accuracy(classifier, data.x_test, data.y_test), abs=1e-6)
    assert metrics["test_accuracy"] > 0.5  # 10 classes: chance is 0.1
    with open(new / "history.csv") as f:
        last = list(csv.DictReader(f))[-1]
    # The same split; the epochs' val_accuracy uses BatchNorm's moving averages, the final score the recomputed statistics.
    assert metrics["test_accuracy"] >= float(last["val_accuracy"]) - 0.05


def test_the_classifier_reloads_in_a_fresh_process_without_kssl(finetuned, data, tmp_path):
    from kssl.saving import load_model

    _, new = finetuned
    x = np.asarray(data.x_test[:20], dtype="float32")
    np.save(tmp_path / "x.npy", x)
    expected = np.asarray(load_model(new / "classifier.keras", compile=False).predict(x, verbose=0))
    script = (
        "import sys, numpy as np, keras\n"
        f"model = keras.saving.load_model({str(new / 'classifier.keras')!r})\n"
        f"np.save({str(tmp_path / 'p.npy')!r}, np.asarray(model.predict(np.load({str(tmp_path / 'x.npy')!r}), verbose=0)))\n"
        "assert not any(m == 'kssl' or m.startswith('kssl.') for m in sys.modules), 'kssl was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    predicted = np.load(tmp_path / "p.npy")
    assert predicted.shape == (20, 10)
    np.testing.assert_allclose(predicted, expected, atol=1e-5)
    np.testing.assert_allclose(predicted.sum(axis=1), 1.0, atol=1e-5)


def test_labels_per_class_uses_a_stratified_draw_of_that_many_labels(run, tmp_path):
    result = _finetune(run, "--labels-per-class", 3, "--epochs", 1, "--set", "seed=1", "--output-dir", tmp_path)
    assert result.exit_code == 0, result.output
    (new,) = tmp_path.iterdir()
    metrics = json.loads((new / "metrics.json").read_text())
    assert metrics["labels_used"] == 30 and metrics["budget"] == "3_per_class" and metrics["seed"] == 1
    settings = yaml.safe_load((new / "finetune.yaml").read_text())
    assert settings["labels_per_class"] == 3 and settings["label_fraction"] is None and settings["seed"] == 1


def test_label_fraction_and_augment_use_the_runs_augmenter(run, data, tmp_path):
    from kssl.eval.label_budget import LabelBudget

    result = _finetune(run, "--label-fraction", 0.2, "--epochs", 1, "--set", "augment=true", "--output-dir", tmp_path)
    assert result.exit_code == 0, result.output
    (new,) = tmp_path.iterdir()
    metrics = json.loads((new / "metrics.json").read_text())
    assert metrics["budget"] == "frac_0.2"
    assert metrics["labels_used"] == len(LabelBudget(fraction=0.2).draw(data.y_train, seed=0))
    import keras

    classifier = keras.saving.load_model(new / "classifier.keras", compile=False)
    assert not any("simclr" in layer.name.lower() for layer in classifier.layers)  # the augmenter is not part of the classifier


@pytest.fixture(scope="module")
def broken_runs(run, tmp_path_factory):
    """Copies of the run with something missing or unsupported, by name."""
    import keras

    import kssl

    root = tmp_path_factory.mktemp("broken")
    runs = {}
    for name in ("no_model", "no_encoder", "no_labels", "two_inputs", "no_augmenter"):
        runs[name] = root / name
        shutil.copytree(run, runs[name])
    (runs["no_model"] / "model.keras").unlink()
    (runs["no_encoder"] / "encoder.keras").unlink()
    np.savez(root / "unlabeled.npz", x=np.random.default_rng(0).random((40, 8, 8, 1), dtype="float32"))
    recipe = {**RECIPE, "data": {"type": "numpy", "path": str(root / "unlabeled.npz"), "batch_size": 16}}
    (runs["no_labels"] / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    a, b = keras.Input((4,), dtype="int32"), keras.Input((4,), dtype="int32")
    keras.Model([a, b], keras.layers.Add()([a, b])).save(runs["two_inputs"] / "encoder.keras")  # like BERT's token ids + padding mask
    no_augmenter = {**{k: v for k, v in RECIPE.items() if k != "augmenter"}, "pretext": {"type": "vae"}}  # SimCLR requires one
    kssl.build(no_augmenter).save(runs["no_augmenter"] / "model.keras")
    return runs


@pytest.mark.parametrize(
    ("case", "args", "words"),
    [
        ("missing", [], ["not a kssl run directory", "nowhere"]),
        ("no_model", [], ["no model.keras", "--resume"]),
        ("no_encoder", [], ["no encoder.keras"]),
        ("no_labels", [], ["no labels", "numpy"]),
        ("two_inputs", [], ["finetune supports image and vector encoders", "2 inputs"]),
        ("no_augmenter", ["--set", "augment=true"], ["augment", "no augmenter"]),
        ("run", ["--set", "learning_rat=0.1"], ["learning_rat", "unknown fine-tune setting", "Did you mean 'learning_rate'"]),
        ("run", ["--set", "learning_rate=-1"], ["learning_rate", "positive number", "-1"]),
        ("run", ["--set", "learning_rate=.nan"], ["learning_rate", "positive number", "nan"]),
        ("run", ["--set", "optimizer=adamx"], ["optimizer", "adamx"]),
        ("run", ["--set", "seed=-1"], ["seed", ">= 0"]),
        ("run", ["--set", "learning_rate"], ["--set", "KEY.PATH=VALUE"]),
        ("run", ["--epochs", 0], ["epochs", ">= 1"]),
        ("run", ["--labels-per-class", 1000], ["1000 labels per class", "larger than class", "has"]),
        ("run", ["--labels-per-class", 0], ["--labels-per-class", ">= 1"]),
        ("run", ["--label-fraction", 0], ["--label-fraction", "> 0"]),
        ("run", ["--label-fraction", 1.5], ["--label-fraction", "<= 1"]),
        ("run", ["--labels-per-class", 3, "--label-fraction", 0.5], ["--labels-per-class", "--label-fraction", "not both"]),
    ],
)
def test_bad_input_exits_2_with_one_paragraph_and_writes_nothing(run, broken_runs, tmp_path, case, args, words):
    source = {"missing": tmp_path / "nowhere", "run": run}.get(case) or broken_runs[case]
    out = tmp_path / "out"
    result = _finetune(source, *args, "--output-dir", out)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr
    (message,) = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]  # one paragraph, after any progress lines
    for word in words:
        assert word in message, message
    assert not out.exists() or not any(out.iterdir())


def test_a_failure_during_training_removes_the_new_directory(run, tmp_path, monkeypatch):
    from kssl import finetune_run
    from kssl.transfer.fine_tuning import FineTuner

    def boom(self, *args, **kwargs):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(FineTuner, "fit", boom)
    with pytest.raises(RuntimeError, match="interrupted"):
        finetune_run.finetune(run, ["epochs=1"], output_dir=tmp_path / "out")
    assert (tmp_path / "out").is_dir() and not any((tmp_path / "out").iterdir())
