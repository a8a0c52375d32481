"""The CLI through click's CliRunner: exit codes, messages, and nothing half-written."""

import json

import pytest
import yaml
from click.testing import CliRunner

from kssl.cli import main


@pytest.fixture
def run(tmp_path):
    def _run(*args):
        result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
        return result

    return _run


def _assert_bad_input(result, *fragments, out_dir=None):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    text = result.output.replace("\n", " ")
    for fragment in fragments:
        assert fragment in text, text
    if out_dir is not None:
        assert not out_dir.exists() or not any(out_dir.iterdir()), "a run directory was left behind"


@pytest.mark.parametrize(
    "change, fragments",
    [
        ({"pretext": {"type": "simclrr"}}, ["pretext.type", "Did you mean 'simclr'"]),
        ({"pretext": {"type": "simclr", "temperature": -1}}, ["pretext.temperature", "positive", "-1"]),
        ({"pretext": {"type": "simclr", "temprature": 0.1}}, ["pretext.temprature", "Did you mean 'temperature'"]),
        ({"data": {"type": "digits", "batch_size": 0}}, ["data.batch_size"]),
        ({"data": {"type": "numpy", "path": "/nonexistent/x.npz"}}, ["/nonexistent/x.npz"]),
        ({"data": {"type": "image_folder", "path": "/nonexistent/images"}}, ["/nonexistent/images"]),
        ({"data": {"type": "digits", "image_size": 4}}, ["image_size"]),
        ({"train": {"epochs": "ten"}}, ["train.epochs", "'ten'"]),
        ({"colour": "blue"}, ["colour", "unknown top-level key"]),
    ],
)
def test_bad_recipes_exit_2_without_a_run_dir(run, tiny_recipe, write_recipe, tmp_path, change, fragments):
    tiny_recipe.update(change)
    out = tmp_path / "runs"
    _assert_bad_input(run("train", write_recipe(tiny_recipe), "--output-dir", out), *fragments, out_dir=out)
    _assert_bad_input(run("validate", write_recipe(tiny_recipe)), *fragments)


def test_missing_factory_argument(run, tiny_recipe, write_recipe):
    tiny_recipe["data"] = {"type": "numpy"}
    _assert_bad_input(run("validate", write_recipe(tiny_recipe)), "data.path", "missing required argument")


def test_empty_dataset(run, tiny_recipe, write_recipe, tmp_path):
    import numpy as np

    np.savez(tmp_path / "empty.npz", x=np.zeros((0, 8, 8, 1), "float32"))
    tiny_recipe["data"] = {"type": "numpy", "path": str(tmp_path / "empty.npz")}
    tiny_recipe["eval"] = []
    _assert_bad_input(run("validate", write_recipe(tiny_recipe)), "empty")


def test_bad_yaml_and_python_tags(run, write_recipe, tmp_path):
    _assert_bad_input(run("validate", write_recipe("data: [1, 2\n")), "malformed YAML")
    _assert_bad_input(run("validate", write_recipe("!!python/object/apply:os.system ['true']\n")), "not allowed")
    _assert_bad_input(run("validate", write_recipe("just a string\n")), "mapping")
    _assert_bad_input(run("validate", tmp_path / "nope.yaml"), "nope.yaml", "no such file")


def test_set_on_missing_path_and_unknown_backend(run, tiny_recipe, write_recipe):
    path = write_recipe(tiny_recipe)
    _assert_bad_input(run("validate", path, "--set", "optimiser.lr=1"), "optimiser")
    _assert_bad_input(run("validate", path, "--backend", "theano"), "--backend", "theano", "tensorflow")
    # --set backend=... is read before Keras loads, like the recipe's own key (here Keras is loaded with tensorflow)
    _assert_bad_input(run("validate", path, "--set", "backend=jax"), "jax backend was requested", "already loaded with tensorflow")
    _assert_bad_input(run("validate", path, "--set", "backend=theano"), "backend", "theano")


def test_validate_ok_with_set(run, tiny_recipe, write_recipe):
    result = run("validate", write_recipe(tiny_recipe), "--set", "pretext.temperature=0.5")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: tiny-simclr")


def test_validate_zoo_name(run):
    result = run("validate", "simclr")
    assert result.exit_code == 0, result.output


def test_plugins_and_zoo_listings(run):
    result = run("plugins")
    assert result.exit_code == 0
    for fragment in ("pretexts:", "simclr", "encoders:", "resnet", "datasets:", "digits", "evaluators:", "knn"):
        assert fragment in result.output
    result = run("zoo")
    assert result.exit_code == 0 and "simclr" in result.output


def test_train_end_to_end_then_eval_and_resume_guard(run, tiny_recipe, write_recipe, tmp_path):
    out = tmp_path / "runs"
    result = run("train", write_recipe(tiny_recipe), "--output-dir", out, "--epochs", "1")
    assert result.exit_code == 0, result.output
    run_dir = out / result.output.strip().splitlines()[-1].split("/")[-1]
    assert run_dir.is_dir()
    for name in ("recipe.yaml", "history.csv", "model.keras", "encoder.keras", "metrics.json"):
        assert (run_dir / name).is_file(), name
    assert list((run_dir / "checkpoints").glob("epoch-0001.keras"))
    assert list((run_dir / "logs").rglob("events.out.tfevents.*"))
    operative = yaml.safe_load((run_dir / "recipe.yaml").read_text())
    assert operative["backend"] == "tensorflow" and operative["train"]["epochs"] == 1
    summary = json.loads((run_dir / "metrics.json").read_text())
    for key in ("knn_accuracy", "linear_probe_accuracy", "random_init.knn_accuracy", "random_init.linear_probe_accuracy"):
        assert 0.0 <= summary["metrics"][key] <= 1.0
    assert summary["epochs"] == 1 and summary["epochs_run"] == 1 and summary["backend"] == "tensorflow"
    assert summary["eval_seconds"] > 0 and set(summary["eval_seconds_by_evaluator"]) == {"knn", "linear_probe"}

    result = run("eval", run_dir)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["knn_accuracy"] == pytest.approx(summary["metrics"]["knn_accuracy"], abs=1e-6)

    _assert_bad_input(run("train", "--resume", run_dir), "already finished")
    # a second run never reuses the first one's directory
    result = run("train", write_recipe(tiny_recipe), "--output-dir", out, "--epochs", "1", "--set", "eval=[]")
    assert result.exit_code == 0 and len(list(out.iterdir())) == 2


def test_eval_of_non_run_dir(run, tmp_path):
    _assert_bad_input(run("eval", tmp_path), "not a kssl run directory")


def test_eval_of_a_damaged_model_file_is_one_paragraph(run, tiny_recipe, tmp_path):
    import zipfile

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "recipe.yaml").write_text(yaml.safe_dump(tiny_recipe), encoding="utf-8")
    with zipfile.ZipFile(tmp_path / "whole.keras", "w") as archive:  # a .keras is a zip: cut one in half
        archive.writestr("config.json", json.dumps({"class_name": "Functional", "config": {}}) * 50)
        archive.writestr("model.weights.h5", b"\0" * 4096)
    whole = (tmp_path / "whole.keras").read_bytes()
    (run_dir / "model.keras").write_bytes(whole[: len(whole) // 2])
    result = run("eval", run_dir)
    _assert_bad_input(result, "model.keras")
    assert result.output.count("Error:") == 1 and len(result.output.strip().splitlines()) == 1, result.output
    assert sorted(p.name for p in run_dir.iterdir()) == ["model.keras", "recipe.yaml"]  # nothing written


@pytest.mark.parametrize(
    "setting, fragments",
    [
        ("optimizer.lr=0.1", ["optimizer.lr", "unknown argument for the optimizer", "learning_rate"]),
        ("optimizer.learning_rate=-1", ["optimizer.learning_rate", "-1"]),
        ("optimizer.type=adamax", ["optimizer.type", "adamax", "adamw"]),
    ],
)
def test_bad_optimizer_settings(run, tiny_recipe, write_recipe, setting, fragments):
    _assert_bad_input(run("validate", write_recipe(tiny_recipe), "--set", setting), *fragments)
