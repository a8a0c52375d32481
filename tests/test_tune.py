"""``kssl tune``: the SPEC language, bad input (exit 2, nothing written), a tiny real search, failed trials, resume, chief/worker."""

import csv
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from kssl.errors import KsslError
from kssl.tune.space import check_keys, overrides, parse_item, parse_space

REPO = Path(__file__).resolve().parents[1]

# A one-layer MLP on 8x8 digits: an epoch of SimCLR in about a second of CPU.
TINY = {
    "name": "tiny-tune",
    "seed": 0,
    "data": {"type": "digits", "image_size": 8, "batch_size": 32, "limit": 200},
    "augmenter": {"type": "simclr", "crop_scale": [0.5, 1.0], "blur_probability": 0.0, "jitter_strength": 0.5},
    "encoder": {"type": "mlp", "hidden_units": [16]},
    "pretext": {"type": "simclr", "projection_dim": 8, "projection_hidden_dims": [16], "temperature": 0.2},
    "optimizer": {"type": "adam", "learning_rate": 1.0e-2},
    "train": {"epochs": 1, "log_images": 0, "verbose": 0},
    "eval": [],
}


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY), encoding="utf-8")
    return path


def run(*args):
    from kssl.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)


# -- the SPEC language ---------------------------------------------------------------------------------------------


def test_specs_map_to_keras_tuner_hyperparameters():
    import keras_tuner

    dims = parse_space(
        [
            "optimizer.learning_rate=float:1e-4:1e-2:log",
            "augmenter.jitter_strength=float:0.1:1.0",
            "encoder.width=int:8:32:step=8",
            "pretext.temperature=choice:0.1,0.2,0.5",
            "augmenter.crop_scale.0=choice:0.2,1",
            "train.precision=choice:float32,mixed_bfloat16",
        ]
    )
    hp = keras_tuner.HyperParameters()
    for dim in dims:
        dim.declare(hp)
    lr, jitter, width, temperature, crop, precision = (hp.get_config()["space"][i]["config"] for i in range(6))
    assert (lr["min_value"], lr["max_value"], lr["sampling"]) == (1e-4, 1e-2, "log")
    assert (jitter["min_value"], jitter["max_value"], jitter["sampling"]) == (0.1, 1.0, "linear")
    assert (width["min_value"], width["max_value"], width["step"]) == (8, 32, 8)
    assert temperature["values"] == [0.1, 0.2, 0.5]
    assert crop["values"] == [0.2, 1.0]  # one type: the int becomes a float
    assert precision["values"] == ["float32", "mixed_bfloat16"]
    assert overrides({"encoder.width": np.int64(16), "pretext.temperature": 0.2}, dims) == [("encoder.width", 16), ("pretext.temperature", 0.2)]
    assert type(overrides({"encoder.width": np.int64(16)}, dims)[0][1]) is int


@pytest.mark.parametrize(
    "item, fragment",
    [
        ("augmenter.jitter_strength", "no '='"),
        ("=float:0:1", "empty"),
        ("a..b=float:0:1", "empty part"),
        ("a.b=", "SPEC is empty"),
        ("a.b=flaot:0:1", "Did you mean 'float'"),
        ("a.b=float:0", "LOW:HIGH"),
        ("a.b=float:1:0", "LOW must be below HIGH"),
        ("a.b=float:x:1", "'x' is not a number"),
        ("a.b=float:0:nan", "not finite"),
        ("a.b=float:0:1:lg", "unknown modifier"),
        ("a.b=float:0:1:log", "LOW > 0"),
        ("a.b=float:0:1:step=2", "step must be positive"),
        ("a.b=int:1.5:4", "not an integer"),
        ("a.b=choice:0.1", "two or more values"),
        ("a.b=choice:0.1;0.2", "two or more values"),
        ("a.b=choice:0.1,0.1", "repeat"),
        ("a.b=choice:0.1,fast", "must all be numbers"),
        ("a.b=choice:0.1,[1]", "not a number, word"),
        ("a.b=choice:0.1,[1, 2]", "not a number, word"),
        ("a.b=choice:0.1,.inf", "not finite"),
    ],
)
def test_malformed_specs_are_refused_with_the_grammar(item, fragment):
    with pytest.raises(KsslError) as info:
        parse_item(item)
    assert fragment in str(info.value)
    assert "KEY=SPEC" in str(info.value) and "choice:V1,V2" in str(info.value)


def test_keys_are_checked_against_the_recipe():
    recipe = yaml.safe_load(yaml.safe_dump(TINY))
    check_keys(parse_space(["augmenter.crop_scale.0=float:0.1:0.9", "optimizer.learning_rate=float:1e-3:1e-1:log"]), recipe)
    for item, fragment in [
        ("augmenter.jitter_strenght=float:0:1", "Did you mean 'jitter_strength'"),
        ("augmentor.jitter_strength=float:0:1", "Did you mean 'augmenter'"),
        ("augmenter.crop_scale=float:0.1:0.9", "search its items"),
        ("augmenter.crop_scale.2=float:0.1:0.9", "index below 2"),
        ("augmenter.jitter_strength.x=float:0:1", "not a section"),
        ("train.epochs=int:1:5", "--epochs"),
        ("name=choice:a,b", "cannot be searched"),
    ]:
        with pytest.raises(KsslError) as info:
            check_keys(parse_space([item]), recipe)
        assert fragment in str(info.value), item
    with pytest.raises(KsslError, match="given twice"):
        parse_space(["a.b=float:0:1", "a.b=float:0:2"])
    with pytest.raises(KsslError, match="no --space given"):
        parse_space([])


# -- bad input through the CLI: exit 2, one paragraph, nothing written -----------------------------------------------


def test_bad_input_exits_2_and_writes_nothing(tiny, tmp_path):
    unlabeled = tmp_path / "unlabeled.npz"
    np.savez(unlabeled, x=np.random.default_rng(0).random((40, 8, 8, 1), dtype=np.float32))
    unlabeled_recipe = tmp_path / "unlabeled.yaml"
    unlabeled_recipe.write_text(yaml.safe_dump({**TINY, "data": {"type": "numpy", "path": str(unlabeled), "batch_size": 16}}), encoding="utf-8")
    out = tmp_path / "out"
    space = ["--space", "augmenter.jitter_strength=float:0.1:1.0"]
    cases = [
        ([tiny, "--space", "augmenter.jitter_strenght=float:0.1:1.0"], "Did you mean 'jitter_strength'"),
        ([tiny], "no --space given"),
        ([tiny, "--space", "augmenter.jitter_strength=float:1.0"], "LOW:HIGH"),
        ([tiny, *space, "--trials", 0], "--trials: expected an integer >= 1"),
        ([tiny, *space, "--epochs", 0], "--epochs: expected an integer >= 1"),
        ([tiny, *space, "--algorithm", "grid"], "--algorithm: expected one of random, hyperband"),
        ([tiny, *space, "--seed", -1], "--seed: expected an integer >= 0"),
        ([tiny, *space, "--objective", "val_knn"], "Did you mean 'val_knn_accuracy'"),
        ([tiny, "--space", "train.steps_per_epoch=int:0:3", "--set", "train.steps_per_epoch=2"], "makes the recipe invalid"),
        ([unlabeled_recipe, *space], "needs labels"),
        (["--resume", tmp_path / "nowhere"], "no such folder"),
    ]
    for args, fragment in cases:
        result = run("tune", *args, "--output-dir", out)
        assert result.exit_code == 2, (args, result.output)
        assert fragment in result.output, (args, result.output)
        assert "Traceback" not in result.output
        assert not out.exists(), args


# -- a real search ---------------------------------------------------------------------------------------------------


def test_tiny_search_writes_table_plot_and_a_best_recipe_that_validates(tiny, tmp_path):
    """Three 1-epoch trials; crop_scale.0 = 1.5 is refused by the augmenter: that trial is FAILED and the search goes on."""
    out = tmp_path / "out"
    result = run("tune", tiny, "--space", "augmenter.crop_scale.0=choice:0.5,0.9,1.5", "--trials", 3, "--epochs", 1, "--output-dir", out, "--name", "s")
    assert result.exit_code == 0, result.output
    tune_dir = out / "s"
    assert result.stdout.strip().splitlines()[-1] == str(tune_dir)
    rows = list(csv.DictReader((tune_dir / "trials.csv").open(encoding="utf-8")))
    assert sorted(float(r["augmenter.crop_scale.0"]) for r in rows) == [0.5, 0.9, 1.5]
    by_value = {float(r["augmenter.crop_scale.0"]): r for r in rows}
    assert by_value[1.5]["status"] == "FAILED" and "crop_scale" in by_value[1.5]["message"] and by_value[1.5]["val_knn_accuracy"] == ""
    for value in (0.5, 0.9):
        assert by_value[value]["status"] == "COMPLETED"
        assert 0.1 < float(by_value[value]["val_knn_accuracy"]) <= 1.0
    summary = json.loads((tune_dir / "trials.json").read_text())
    best = summary["best"]
    assert best["val_knn_accuracy"] == max(float(by_value[v]["val_knn_accuracy"]) for v in (0.5, 0.9))
    assert "val_knn_accuracy" in result.output and "FAILED" in result.output  # the printed table
    assert (tune_dir / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Each trial is an ordinary run directory under the tune directory; the failed one left none behind.
    assert len(list((tune_dir / "trials").glob("*/*/metrics.json"))) == 2
    best_recipe = yaml.safe_load((tune_dir / "best_recipe.yaml").read_text())
    assert best_recipe["augmenter"]["crop_scale"] == [best["augmenter.crop_scale.0"], 1.0]
    assert best_recipe["train"]["epochs"] == 1 and "results" not in best_recipe
    validated = run("validate", tune_dir / "best_recipe.yaml")
    assert validated.exit_code == 0 and "ok: tiny-tune" in validated.output, validated.output


class Interrupted(BaseException):
    """Stands for a kill in the middle of a trial (not an Exception: KerasTuner does not record it as a failed trial)."""


def test_resume_runs_only_the_trials_left(tiny, tmp_path, monkeypatch):
    import kssl.training

    trained = []
    real = kssl.training.train

    def train_then_die(source, overrides=(), output_dir="runs", epochs=None):
        trained.append(dict(overrides))
        if len(trained) == 2:
            raise Interrupted()
        return real(source, overrides, output_dir=output_dir, epochs=epochs)

    monkeypatch.setattr(kssl.training, "train", train_then_die)
    out = tmp_path / "out"
    args = ["--space", "augmenter.jitter_strength=float:0.1:1.0", "--epochs", 1, "--output-dir", out]
    with pytest.raises(Interrupted):
        run("tune", tiny, *args, "--trials", 2, "--name", "r")
    tune_dir = out / "r"
    done = json.loads((tune_dir / "trials" / "0" / "trial.json").read_text())
    assert done["status"] == "COMPLETED"
    second = run("tune", "--resume", tune_dir, "--trials", 3)
    assert second.exit_code == 0, second.output
    # Trial 0 was not trained again; the interrupted trial 1 ran again with its own value, then trial 2.
    values = [o["augmenter.jitter_strength"] for o in trained]
    assert len(values) == 4 and values[2] == values[1] and values[3] not in values[:2]
    assert json.loads((tune_dir / "trials" / "0" / "trial.json").read_text()) == done
    rows = json.loads((tune_dir / "trials.json").read_text())["trials"]
    assert [r["status"] for r in rows] == ["COMPLETED"] * 3
    finished = run("tune", "--resume", tune_dir)
    assert finished.exit_code == 0 and len(trained) == 4  # nothing left: nothing trained


# -- slow: Hyperband, and KerasTuner's chief/worker mode on 127.0.0.1 ------------------------------------------------


@pytest.mark.slow
def test_hyperband_gives_trials_epoch_budgets_and_continues_runs(tiny, tmp_path):
    out = tmp_path / "out"
    result = run(
        "tune", tiny, "--space", "augmenter.jitter_strength=float:0.1:1.0", "--algorithm", "hyperband", "--epochs", 3, "--trials", 6, "--output-dir", out
    )
    assert result.exit_code == 0, result.output
    (tune_dir,) = out.iterdir()
    rows = json.loads((tune_dir / "trials.json").read_text())["trials"]
    assert len(rows) == 6 and {r["epochs"] for r in rows} >= {1, 3}
    records = [json.loads(p.read_text()) for p in (tune_dir / "trials").glob("*/trial.json")]
    continued = [t for t in records if t.get("continued_from") is not None]
    assert continued, "no Hyperband trial continued an earlier one"
    for t in continued:
        parent = json.loads((tune_dir / "trials" / t["continued_from"] / "trial.json").read_text())
        assert parent["values"] == t["values"] and parent["epochs"] < t["epochs"]
        rows = list(csv.DictReader(open(Path(t["run_dir"]) / "history.csv")))
        assert [int(r["epoch"]) for r in rows] == list(range(t["epochs"]))  # the parent's epochs, then the ones trained on top


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_chief_and_one_worker_on_localhost(tiny, tmp_path):
    """KerasTuner's chief serves the oracle, the worker trains; the chief writes the report."""
    port = str(_free_port())
    args = [sys.executable, "-m", "kssl", "tune", str(tiny), "--space", "augmenter.jitter_strength=float:0.1:1.0", "--trials", "2"]
    args += ["--epochs", "1", "--output-dir", str(tmp_path / "out"), "--name", "dist"]
    env = {**os.environ, "KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": port}
    chief = subprocess.Popen(args, env={**env, "KERASTUNER_TUNER_ID": "chief"}, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    worker = subprocess.run(args, env={**env, "KERASTUNER_TUNER_ID": "tuner0"}, cwd=REPO, capture_output=True, text=True, timeout=600)
    chief_out, _ = chief.communicate(timeout=600)
    assert worker.returncode == 0, worker.stdout + worker.stderr
    assert chief.returncode == 0, chief_out
    tune_dir = tmp_path / "out" / "dist"
    rows = json.loads((tune_dir / "trials.json").read_text())["trials"]
    assert [r["status"] for r in rows] == ["COMPLETED", "COMPLETED"]
    assert (tune_dir / "best_recipe.yaml").is_file()
    assert "tuner0" in "".join(p.name for p in (tune_dir / "keras_tuner").iterdir())


def test_the_same_seed_draws_the_same_trials(tmp_path):
    """--seed 0 too (KerasTuner alone would take 0 as 'pick a seed at random')."""
    from kssl.backend_choice import select_backend
    from kssl.tune.settings import TuneSettings

    select_backend(None)
    from kssl.tune.tuner import make_oracle

    def draws(seed, folder):
        settings = TuneSettings(recipe=TINY, space=["augmenter.jitter_strength=float:0.1:1.0"], objective="val_knn_accuracy", seed=seed, trials=3)
        oracle = make_oracle(settings)
        oracle._set_project_dir(str(tmp_path), folder)
        return [oracle.create_trial(f"t{i}").hyperparameters.values["augmenter.jitter_strength"] for i in range(3)]

    assert draws(0, "a") == draws(0, "b") != draws(1, "c")


def test_too_many_failures_in_a_row_stop_the_search_with_a_report(tiny, tmp_path):
    """Every value fails in the augmenter (no training runs): after --max-failures 2 the search stops, exit 1, the table is written."""
    out = tmp_path / "out"
    result = run("tune", tiny, "--space", "augmenter.crop_scale.0=choice:1.5,2.0", "--trials", 3, "--max-failures", 2, "--output-dir", out, "--name", "f")
    assert result.exit_code == 1, result.output
    assert "2 trials in a row failed" in result.output and "--max-failures N" in result.output and "Traceback" not in result.output
    rows = json.loads((out / "f" / "trials.json").read_text())["trials"]
    assert [r["status"] for r in rows] == ["FAILED", "FAILED"] and all("crop_scale" in r["message"] for r in rows)
    assert not (out / "f" / "best_recipe.yaml").exists()


def test_a_bad_space_is_reported_before_keras_is_imported(tiny):
    """A mistyped key or SPEC answers at once: the CLI checks the space before it loads Keras or the registry."""
    driver = (
        "import sys; sys.argv = ['kssl']\n"
        "from kssl.cli import main\n"
        "try:\n"
        f"    main(['tune', {str(tiny)!r}, '--space', 'augmenter.jitter_strenght=float:0:1'], prog_name='kssl')\n"
        "except SystemExit as exc:\n"
        "    print('CODE', exc.code)\n"
        "print('LOADED', sorted(m for m in ('keras', 'tensorflow', 'jax', 'keras_tuner') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", driver], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert "CODE 2" in done.stdout and "LOADED []" in done.stdout, done.stdout + done.stderr
    assert "Did you mean 'jitter_strength'" in done.stderr
