"""kssl-byol as users get it: installed with pip, found by kssl through its entry points."""

import subprocess

from kssl.recipe import zoo_recipes
from kssl.testing import check_registered, smoke_test_recipe


def test_the_installed_distribution_registers_byol():
    entry = check_registered("pretext", "byol", distribution="kssl-byol")
    assert entry.factory.__name__ == "BYOL"


def test_the_zoo_recipe_ships_with_the_distribution():
    path = zoo_recipes()["byol"]
    assert path.parent.name == "zoo" and path.parent.parent.name == "kssl_byol" and "src" not in path.parts


def test_kssl_plugins_lists_it():
    result = subprocess.run(["kssl", "plugins"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert any(line.split()[:2] == ["byol", "kssl-byol"] for line in result.stdout.splitlines()), result.stdout


def test_the_zoo_recipe_trains_by_name(tmp_path):
    run_dir, metrics = smoke_test_recipe(
        "byol", ["data.limit=128", "data.batch_size=64", "data.image_size=16", "encoder.width=8"], output_dir=tmp_path, steps=2
    )
    assert metrics["recipe"] == "byol-digits"
    assert {"knn_accuracy", "linear_probe_accuracy"} <= set(metrics["metrics"])
