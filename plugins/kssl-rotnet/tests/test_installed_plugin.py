"""kssl-rotnet as users get it: installed with pip, found by kssl through its entry points."""

import subprocess
from pathlib import Path

from kssl.recipe import zoo_recipes
from kssl.testing import check_registered, smoke_test_recipe


def test_the_installed_distribution_registers_rotnet():
    entry = check_registered("pretext", "rotnet", distribution="kssl-rotnet")
    assert entry.factory.__name__ == "RotNet"


def test_the_zoo_recipe_ships_with_the_distribution():
    path = zoo_recipes()["rotnet"]
    assert path.parent.name == "zoo" and path.parent.parent.name == "kssl_rotnet"
    assert "src" not in Path(path).parts, f"the tests see the source tree ({path}), not the installed package"


def test_kssl_plugins_and_zoo_list_it():
    plugins = subprocess.run(["kssl", "plugins"], capture_output=True, text=True, timeout=300)
    assert plugins.returncode == 0, plugins.stderr[-2000:]
    assert any(line.split()[:2] == ["rotnet", "kssl-rotnet"] for line in plugins.stdout.splitlines()), plugins.stdout
    zoo = subprocess.run(["kssl", "zoo"], capture_output=True, text=True, timeout=120)
    assert any(line.startswith("rotnet ") for line in zoo.stdout.splitlines()), zoo.stdout


def test_the_zoo_recipe_trains_by_name(tmp_path):
    run_dir, metrics = smoke_test_recipe("rotnet", ["data.limit=128", "data.image_size=16", "encoder.width=8"], output_dir=tmp_path)
    assert metrics["recipe"] == "rotnet-digits"
    assert {"knn_accuracy", "linear_probe_accuracy"} <= set(metrics["metrics"])


def test_kssl_train_runs_the_recipe_by_name(tmp_path):
    command = ["kssl", "train", "rotnet", "--epochs", "1", "--output-dir", tmp_path]
    for override in ("data.limit=128", "data.image_size=16", "encoder.width=8", "train.steps_per_epoch=1", "train.verbose=0", "eval=[]"):
        command += ["--set", override]
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    assert run_dir.parent == tmp_path and run_dir.name.startswith("rotnet-digits-")
    assert (run_dir / "model.keras").is_file() and (run_dir / "metrics.json").is_file()
