"""kssl-keras-cv as users get it: installed with pip, found by kssl through its entry points."""

import subprocess
import sys

import pytest

from kssl.recipe import zoo_recipes
from kssl.testing import check_registered, smoke_test_recipe

NAMES = ["keras_cv_rand_augment", "keras_cv_random_crop_and_resize"]


@pytest.mark.parametrize("name", NAMES)
def test_the_installed_distribution_registers_the_adapters(name):
    check_registered("augmenter", name, distribution="kssl-keras-cv")


def test_registering_does_not_import_keras_cv():
    code = "import sys, kssl; kssl.get_registry(); print('keras_cv' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.stdout.strip() == "False", result.stderr[-2000:]


def test_kssl_plugins_lists_them():
    result = subprocess.run(["kssl", "plugins"], capture_output=True, text=True, timeout=300)
    lines = [line.split()[:2] for line in result.stdout.splitlines()]
    for name in NAMES:
        assert [name, "kssl-keras-cv"] in lines, result.stdout


def test_the_zoo_recipe_trains_by_name(tmp_path):
    pytest.importorskip("keras_cv", reason="keras-cv is not installed: `pip install keras-cv` to run the recipe")
    assert zoo_recipes()["simclr-randaugment"].parent.parent.name == "kssl_keras_cv"
    run_dir, metrics = smoke_test_recipe("simclr-randaugment", ["data.limit=128", "data.image_size=16", "encoder.width=8"], output_dir=tmp_path)
    assert metrics["recipe"] == "simclr-randaugment-digits"
