"""kssl-colorization as users get it: installed with pip, found by kssl through its entry points."""

import subprocess
from pathlib import Path

from kssl.recipe import zoo_recipes
from kssl.testing import check_registered, smoke_test_recipe


def test_the_installed_distribution_registers_its_components():
    assert check_registered("pretext", "colorization", distribution="kssl-colorization").factory.__name__ == "Colorization"
    assert check_registered("dataset", "colour_tiles", distribution="kssl-colorization").factory.__name__ == "colour_tiles"


def test_the_zoo_recipe_ships_with_the_distribution():
    path = zoo_recipes()["colorization"]
    assert path.parent.name == "zoo" and path.parent.parent.name == "kssl_colorization"
    assert "src" not in Path(path).parts, f"the tests see the source tree ({path}), not the installed package"


def test_kssl_plugins_and_zoo_list_it():
    plugins = subprocess.run(["kssl", "plugins"], capture_output=True, text=True, timeout=300)
    assert plugins.returncode == 0, plugins.stderr[-2000:]
    lines = [line.split()[:2] for line in plugins.stdout.splitlines()]
    assert ["colorization", "kssl-colorization"] in lines and ["colour_tiles", "kssl-colorization"] in lines, plugins.stdout
    zoo = subprocess.run(["kssl", "zoo"], capture_output=True, text=True, timeout=120)
    assert any(line.startswith("colorization ") for line in zoo.stdout.splitlines()), zoo.stdout


def test_the_zoo_recipe_trains_by_name(tmp_path):
    overrides = ["data.limit=128", "data.sources=[china, flower]", "encoder.width=8", "eval=[{type: knn, k: 5}, {type: linear_probe}]"]
    run_dir, metrics = smoke_test_recipe("colorization", overrides, output_dir=tmp_path)
    assert metrics["recipe"] == "colorization-tiles"
    assert {"knn_accuracy", "linear_probe_accuracy"} <= set(metrics["metrics"])


def test_kssl_train_runs_the_recipe_by_name(tmp_path):
    command = ["kssl", "train", "colorization", "--epochs", "1", "--output-dir", tmp_path]
    for override in ("data.limit=128", "data.sources=[china, flower]", "encoder.width=8", "train.steps_per_epoch=1", "train.verbose=0", "eval=[]"):
        command += ["--set", override]
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    assert run_dir.parent == tmp_path and run_dir.name.startswith("colorization-tiles-")
    assert (run_dir / "model.keras").is_file() and (run_dir / "metrics.json").is_file()


def test_the_recorded_results_have_tolerances_and_beat_the_random_init():
    from kssl.recipe import load_recipe
    from kssl.zoo_results import missing_tolerances, recorded_results, tolerance_for

    recipe = load_recipe("colorization")
    results = recorded_results(recipe)
    assert not missing_tolerances(recipe), missing_tolerances(recipe)
    pairs = [k for k in results if f"random_init.{k}" in results]
    assert {"knn_accuracy", "linear_probe_accuracy", "few_shot_5_logistic_accuracy"} <= set(pairs)
    assert all(results[k] - results[f"random_init.{k}"] > tolerance_for(recipe, k) for k in pairs), results
