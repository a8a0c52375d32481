"""kssl-inpainting as users get it: installed with pip, found by kssl through its entry points."""

import subprocess
from pathlib import Path

from kssl.recipe import zoo_recipes
from kssl.testing import check_registered, smoke_test_recipe


def test_the_installed_distribution_registers_inpainting():
    entry = check_registered("pretext", "inpainting", distribution="kssl-inpainting")
    assert entry.factory.__name__ == "Inpainting"


def test_the_zoo_recipe_ships_with_the_distribution():
    path = zoo_recipes()["inpainting"]
    assert path.parent.name == "zoo" and path.parent.parent.name == "kssl_inpainting"
    assert "src" not in Path(path).parts, f"the tests see the source tree ({path}), not the installed package (pip install, not -e)"


def test_kssl_plugins_and_zoo_list_it():
    plugins = subprocess.run(["kssl", "plugins"], capture_output=True, text=True, timeout=300)
    assert plugins.returncode == 0, plugins.stderr[-2000:]
    assert any(line.split()[:2] == ["inpainting", "kssl-inpainting"] for line in plugins.stdout.splitlines()), plugins.stdout
    zoo = subprocess.run(["kssl", "zoo"], capture_output=True, text=True, timeout=120)
    assert any(line.startswith("inpainting ") for line in zoo.stdout.splitlines()), zoo.stdout


def test_the_zoo_recipe_trains_by_name_and_draws_its_pictures(tmp_path):
    run_dir, metrics = smoke_test_recipe("inpainting", ["data.limit=128", "encoder.width=8", "eval=[{type: knn, k: 5}]"], output_dir=tmp_path)
    assert metrics["recipe"] == "inpainting-digits"
    assert "knn_accuracy" in metrics["metrics"]
    assert (run_dir / "inpainting.png").is_file()


def test_kssl_train_runs_the_recipe_by_name(tmp_path):
    command = ["kssl", "train", "inpainting", "--epochs", "1", "--output-dir", tmp_path]
    for override in ("data.limit=128", "encoder.width=8", "train.steps_per_epoch=1", "train.verbose=0", "eval=[]"):
        command += ["--set", override]
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    assert run_dir.parent == tmp_path and run_dir.name.startswith("inpainting-digits-")
    assert (run_dir / "model.keras").is_file() and (run_dir / "metrics.json").is_file()


def test_the_recorded_results_have_tolerances_and_beat_the_random_init():
    """As tests/test_zoo.py checks kssl's own zoo (it does not see plugin recipes)."""
    from kssl.recipe import load_recipe
    from kssl.zoo_results import missing_tolerances, recorded_results, tolerance_for

    recipe = load_recipe("inpainting")
    results = recorded_results(recipe)
    assert not missing_tolerances(recipe), recipe.get("tolerances")
    pairs = [k for k in results if f"random_init.{k}" in results]
    assert {"knn_accuracy", "linear_probe_accuracy", "few_shot_5_logistic_accuracy"} <= set(pairs), results
    leads = {k: results[k] - results[f"random_init.{k}"] for k in pairs}
    assert all(lead > 0 for lead in leads.values()), leads
    assert any(leads[k] > tolerance_for(recipe, k) for k in pairs), (leads, recipe["tolerances"])
