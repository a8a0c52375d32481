"""Scoring a run: the recipe's evaluators on the trained model and on its random-init baseline."""

from __future__ import annotations

import time
from pathlib import Path

from kssl.builder import build_inputs, build_model, check_evaluators
from kssl.errors import KsslError
from kssl.eval.feature_cache import FeatureCache
from kssl.finished_run import check_run_dir
from kssl.progress import say, timed
from kssl.recipe import load_recipe
from kssl.saving import load_model

__all__ = ["INIT_ENCODER", "INIT_MODEL", "evaluate", "evaluate_run", "evaluate_with_baseline", "load_baseline", "say"]

INIT_MODEL = "model-init.keras"  # the pretext model as training found it: the random-init baseline
INIT_ENCODER = "encoder-init.keras"  # its encoder alone, for from-scratch comparisons downstream


def evaluate(model, data, evaluators, features: FeatureCache | None = None, seconds: dict | None = None, label: str = "") -> dict:
    """Run every evaluator on ``model``; returns one flat ``{metric: value}``.

    ``features`` is the run's :class:`~kssl.eval.feature_cache.FeatureCache`, shared by the
    evaluators so that each split is embedded once per model (a new one when not given).
    Each evaluator's start and end are said on stderr with its seconds (``label`` names the
    model in those lines); ``seconds``, when given, receives ``{evaluator name: seconds}``
    (added to what it holds, so one dict can sum the trained and the random-init model).
    """
    features = features if features is not None else FeatureCache()
    scores = {}
    for i, evaluator in enumerate(evaluators, 1):
        with timed(f"evaluator {i}/{len(evaluators)} {evaluator.name}{f' ({label})' if label else ''}") as took:
            result = evaluator.evaluate(model, data, features=features)
        scores.update({k: float(v) for k, v in result.items()})
        if seconds is not None:
            seconds[evaluator.name] = round(seconds.get(evaluator.name, 0.0) + took["seconds"], 3)
    return scores


def load_baseline(run_dir: Path, recipe: dict, data):
    """The run's random-init model: ``model-init.keras`` of the run directory (the weights training started from).

    Runs written before kssl saved it get the model rebuilt from the recipe's seed instead.
    """
    path = Path(run_dir) / INIT_MODEL
    if path.is_file():
        return load_model(path, compile=False)  # scored only: no optimizer state to restore
    say(f"{INIT_MODEL} is missing (a run from an older kssl): rebuilding the initial model from the recipe's seed")
    return build_model(recipe, data)


def evaluate_with_baseline(run_dir: Path, recipe: dict, model, data, evaluators, step: int, timings: dict | None = None) -> dict:
    """The evaluators' scores of ``model`` and (as ``random_init.*``) of the run's initial weights.

    Writes the evaluators' artefacts into ``run_dir`` and the scores to TensorBoard (``logs/eval``).
    The random-init model is scored by each evaluator's :meth:`~kssl.Evaluator.for_baseline`
    (e.g. the ELBO without its importance-weighted bound). ``timings``, when given, receives
    ``eval_seconds`` (the whole evaluation, wall clock) and ``eval_seconds_by_evaluator``
    (trained and random-init model together), for metrics.json.
    """
    from kssl.viz.tensorboard import log_scalars

    started = time.perf_counter()
    per_evaluator: dict = {}
    features = FeatureCache()  # one per run: every evaluator and picture embeds each split once per model
    data = data.for_evaluation(recipe.get("seed", 0))  # at most data.eval_limit labeled samples per split
    say(f"evaluating the trained model ({len(evaluators)} evaluator(s))")
    metrics = evaluate(model, data, evaluators, features, seconds=per_evaluator, label="trained")
    with timed("writing the evaluators' pictures and files"):
        for evaluator in evaluators:
            evaluator.write_artifacts(run_dir, model, data, features=features)
    compared = [e.for_baseline() for e in evaluators if e.scores_baseline]  # label efficiency trains its own from-scratch baseline
    say(f"evaluating the randomly initialised model training started from, for comparison ({len(compared)} evaluator(s))")
    baseline = load_baseline(run_dir, recipe, data)
    baseline_scores = evaluate(baseline, data, compared, features, seconds=per_evaluator, label="random init")
    metrics.update({f"random_init.{k}": v for k, v in baseline_scores.items()})
    log_scalars(Path(run_dir) / "logs" / "eval", metrics, step=step)
    seconds = time.perf_counter() - started
    say(f"evaluation done in {seconds:.1f} s")
    if timings is not None:
        timings["eval_seconds"] = round(seconds, 2)
        timings["eval_seconds_by_evaluator"] = per_evaluator
    return metrics


def evaluate_run(run_dir, recipe: dict | None = None) -> dict:
    """Re-score a finished run's saved model with its recipe's evaluators (``recipe``: its recipe.yaml, if already loaded)."""
    run_dir = check_run_dir(run_dir)
    recipe = load_recipe(recipe if recipe is not None else run_dir / "recipe.yaml")
    if not recipe["eval"]:
        raise KsslError(f"{run_dir / 'recipe.yaml'}: the recipe lists no evaluators (eval: [...]); nothing to score.")
    model = load_model(run_dir / "model.keras")  # a damaged file is reported before the data are built
    data, evaluators = build_inputs(recipe)
    check_evaluators(evaluators, model)
    return evaluate(model, data.for_evaluation(recipe.get("seed", 0)), evaluators)
