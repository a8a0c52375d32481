"""Every zoo recipe, driven by the zoo itself: it validates, builds, trains one step, evaluates and reloads.

A new recipe in kssl/zoo/ is covered here without a new test. Recipes are shrunk the same way
for all (64 training samples, batches of 32, one step); evaluators run as the recipe lists them.
Recipes in LEARNS_IN_8_STEPS train 8 steps instead and must lower their pretext loss. Every
recorded result needs a tolerance (benchmarks/zoo_check.py re-runs the zoo in full and checks them).
"""

import csv
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


# Recipes whose pretext loss falls within the smoke run when it is 4 epochs of 2 batches over the same 64 samples
# (seed 0; measured 2026-12-02 on the recipes of that day: by 5-70% from the first epoch's mean loss to the last).
# Not checked this way: DINO, MoCo v2 and MoCo v3 (a sharpening teacher, a filling queue and moving targets raise
# their loss over the first steps), SimSiam (its loss starts near 0 and moves by noise) and BERT (0.5% in 8 steps).
LEARNS_IN_8_STEPS = {"simclr", "byol", "vicreg", "barlow_twins", "swav", "vae", "dec"}


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
    learns = name in LEARNS_IN_8_STEPS
    run_dir, metrics = smoke_test_recipe(name, [*overrides, ("train.epochs", 4)] if learns else overrides, output_dir=tmp_path, steps=2 if learns else 1)
    recorded = {k for k in recipe["results"] if not isinstance(recipe["results"][k], (dict, list))}
    missing = sorted(k for k in recorded if _as_shrunk(k) not in metrics["metrics"])
    assert not missing, f"{name}: the recipe records {missing}, which its evaluators no longer report."
    assert (run_dir / "model-init.keras").is_file() and (run_dir / "encoder-init.keras").is_file()
    if learns:  # the tiny learning check: training lowers the method's own objective
        with (run_dir / "history.csv").open() as rows:
            losses = [float(row["loss"]) for row in csv.DictReader(rows)]
        assert len(losses) == 4 and losses[-1] < losses[0], f"{name}: the pretext loss did not fall over 8 steps on 64 samples: {losses}"


# -- recorded results and their tolerances (benchmarks/zoo_check.py re-runs the zoo and checks them) --


@pytest.mark.parametrize("name", RECIPES)
def test_zoo_recipe_gives_every_recorded_metric_a_tolerance(name):
    from kssl.recipe import load_recipe
    from kssl.zoo_results import missing_tolerances, recorded_results

    recipe = load_recipe(name)
    assert recorded_results(recipe), f"{name}: no numeric results recorded."
    missing = missing_tolerances(recipe)
    assert not missing, f"{name}: recorded results without a tolerance: {missing}. Add them under tolerances: (or a tolerances.default)."
    stray = sorted(set(recipe.get("tolerances") or {}) - set(recorded_results(recipe)) - {"default"})
    assert not stray, f"{name}: tolerances for metrics the recipe does not record: {stray}."
    assert all(0 < float(v) < 1e6 for v in recipe["tolerances"].values()), f"{name}: tolerances must be positive numbers."


LOWER_IS_BETTER = {"neg_elbo", "masked_lm_perplexity", "perplexity"}


@pytest.mark.parametrize("name", RECIPES)
def test_zoo_recipe_records_a_model_that_beats_its_random_init(name):
    """Every zoo recipe's recorded model beats the random-init encoder on every metric recorded for both, and on at
    least one by more than the metric's tolerance, so that any re-run benchmarks/zoo_check.py accepts has learned
    something. (Not on every metric: BYOL's kNN lead, 0.044, and MoCo v3's linear-probe lead, 0.019, are within the
    seed spread their tolerances come from.)"""
    from kssl.recipe import load_recipe
    from kssl.zoo_results import recorded_results, tolerance_for

    recipe = load_recipe(name)
    results = recorded_results(recipe)
    pairs = [k for k in results if f"random_init.{k}" in results]
    assert pairs, f"{name}: no metric recorded for both the trained and the random-init encoder."
    sign = {k: -1.0 if k in LOWER_IS_BETTER else 1.0 for k in pairs}
    leads = {k: sign[k] * (results[k] - results[f"random_init.{k}"]) for k in pairs}
    assert all(lead > 0 for lead in leads.values()), leads
    assert any(leads[k] > tolerance_for(recipe, k) for k in pairs), (leads, recipe["tolerances"])


def test_check_results_is_two_sided_uses_the_default_and_flags_gaps():
    from kssl.zoo_results import check_results, missing_tolerances

    recipe = {"results": {"a": 0.90, "b": 0.50, "c": 10.0, "d": 1.0, "note": "text"}, "tolerances": {"a": 0.02, "default": 0.05}}
    measured = {"a": 0.88, "b": 0.56, "c": 9.96}  # a: exactly at -0.02; b: +0.06 > 0.05; c: -0.04 <= 0.05; d: not reported
    checks = {c.metric: c for c in check_results(recipe, measured)}
    assert list(checks) == ["a", "b", "c", "d"]  # strings in results are notes, not metrics
    assert [checks[m].tolerance for m in "abcd"] == [0.02, 0.05, 0.05, 0.05]
    assert [checks[m].ok for m in "abcd"] == [True, False, True, False]
    assert "+0.0600" in checks["b"].reason and "did not report" in checks["d"].reason
    assert check_results({"results": {"a": 0.9}, "tolerances": {"a": 0.01}}, {"a": 0.911})[0].ok is False  # above, too
    assert missing_tolerances({"results": {"a": 1.0, "b": 2.0}, "tolerances": {"a": 0.1}}) == ["b"]
    assert missing_tolerances({"results": {"a": 1.0, "b": 2.0}, "tolerances": {"default": 0.1}}) == []
    assert check_results({"results": {"b": 2.0}}, {"b": 2.0})[0].ok is False  # no tolerance: never passes


def _zoo_check():
    import importlib.util

    path = REPO_ZOO.parent / "benchmarks" / "zoo_check.py"
    spec = importlib.util.spec_from_file_location("zoo_check", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_zoo_check_passes_a_run_within_tolerance_and_fails_one_outside(tmp_path):
    """benchmarks/zoo_check.py --run-dir on a run directory whose metrics.json is written here."""
    import json

    from kssl.recipe import load_recipe
    from kssl.zoo_results import recorded_results, tolerance_for

    zoo_check = _zoo_check()
    recipe = load_recipe("simclr")
    results = recorded_results(recipe)
    run = tmp_path / "run"
    run.mkdir()
    shifted = {k: v + 0.9 * tolerance_for(recipe, k) * (-1) ** i for i, (k, v) in enumerate(results.items())}
    (run / "metrics.json").write_text(json.dumps({"metrics": shifted}))
    report = tmp_path / "report.json"
    assert zoo_check.main(["simclr", "--run-dir", str(run), "--output", str(report)]) == 0
    assert json.loads(report.read_text())["passed"] is True
    first = next(iter(results))
    shifted[first] = results[first] - 1.1 * tolerance_for(recipe, first)
    (run / "metrics.json").write_text(json.dumps({"metrics": shifted}))
    assert zoo_check.main(["simclr", "--run-dir", str(run), "--output", str(report)]) == 1
    entry = json.loads(report.read_text())["recipes"][0]
    assert [m["metric"] for m in entry["metrics"] if not m["ok"]] == [first]
    with pytest.raises(SystemExit) as exit_info:
        zoo_check.main(["simclear", "--output", str(report)])
    assert exit_info.value.code == 2
