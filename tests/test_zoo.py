"""Every zoo recipe, driven by the zoo itself: it validates, builds, trains one step, evaluates and reloads.

A new recipe in kssl/zoo/ is covered here without a new test. Recipes are shrunk the same way
for all (64 training samples, batches of 32, one step); evaluators run as the recipe lists them.
"""

import re
from pathlib import Path

import pytest

from kssl.zoo_recipes import ZOO_DIR

REPO_ZOO = Path(__file__).resolve().parent.parent / "zoo"
RECIPES = sorted(p.stem for p in ZOO_DIR.glob("*.yaml"))
SHRINK = [("data.limit", 64), ("data.batch_size", 32), ("train.verbose", 0)]
# Per-recipe settings that only make the smoke run cheaper (the one-step run never reaches k-means otherwise).
CHEAPER = {"dec": [("pretext.kmeans_restarts", 1)], "vae": [("eval.0.importance_samples", 2)]}
# Label budgets shrink with the data (64 samples: a few per class), for every recipe that lists these evaluators.
SMALL_BUDGETS = {"few_shot": {"shots": [1], "repeats": 1}, "fine_tune": {"steps": 2}, "label_efficiency": {"labels_per_class": [1], "repeats": 1, "steps": 2}}


def _as_shrunk(key: str) -> str:
    """The metric the smoke run reports for a recorded one: label budgets become the one-label budget."""
    key = re.sub(r"label_efficiency\.[^.]+\.", "label_efficiency.1_per_class.", key)
    return re.sub(r"few_shot_\d+_", "few_shot_1_", key)


def _smaller_budgets(recipe) -> list:
    return [(f"eval.{i}.{key}", value) for i, spec in enumerate(recipe["eval"]) for key, value in SMALL_BUDGETS.get(spec["type"], {}).items()]


def test_the_repository_zoo_is_the_packaged_zoo():
    """zoo/ links to kssl/zoo/ (installed as package data), so `kssl train zoo/x.yaml` and `kssl train x` are one file."""
    assert REPO_ZOO.resolve() == ZOO_DIR.resolve(), "zoo/ must be the symlink to kssl/zoo/, not a copy that can drift"


@pytest.mark.parametrize("name", RECIPES)
def test_zoo_recipe_validates_builds_trains_one_step_and_evaluates(name, tmp_path):
    from kssl.builder import build_all
    from kssl.recipe import load_recipe
    from kssl.testing import smoke_test_recipe

    recipe = load_recipe(name)
    assert recipe.get("description"), f"zoo recipe {name} needs a one-line description (kssl zoo shows it)."
    assert recipe.get("results"), f"zoo recipe {name} needs its measured results in a results: block."
    overrides = [*SHRINK, *CHEAPER.get(name, []), *_smaller_budgets(recipe)]
    built = build_all(name, overrides)  # what `kssl validate` does
    assert built.model.count_params() > 0
    run_dir, metrics = smoke_test_recipe(name, overrides, output_dir=tmp_path)
    recorded = {k for k in recipe["results"] if not isinstance(recipe["results"][k], (dict, list))}
    missing = sorted(k for k in recorded if _as_shrunk(k) not in metrics["metrics"])
    assert not missing, f"{name}: the recipe records {missing}, which its evaluators no longer report."
    assert (run_dir / "model-init.keras").is_file() and (run_dir / "encoder-init.keras").is_file()
