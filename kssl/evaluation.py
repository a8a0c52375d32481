"""Scoring a run: the recipe's evaluators on the trained model and on its random-init baseline."""

from __future__ import annotations

import sys
from pathlib import Path

from kssl.builder import build_inputs, build_model, check_evaluators
from kssl.errors import KsslError
from kssl.eval.feature_cache import FeatureCache
from kssl.recipe import load_recipe
from kssl.saving import load_model

INIT_MODEL = "model-init.keras"  # the pretext model as training found it: the random-init baseline
INIT_ENCODER = "encoder-init.keras"  # its encoder alone, for from-scratch comparisons downstream


def say(message: str) -> None:
    """A progress line on stderr, prefixed ``kssl:`` (stdout stays for what a command prints)."""
    print(f"kssl: {message}", file=sys.stderr, flush=True)


def evaluate(model, data, evaluators, features: FeatureCache | None = None) -> dict:
    """Run every evaluator on ``model``; returns one flat ``{metric: value}``.

    ``features`` is the run's :class:`~kssl.eval.feature_cache.FeatureCache`, shared by the
    evaluators so that each split is embedded once per model (a new one when not given).
    """
    features = features if features is not None else FeatureCache()
    scores = {}
    for evaluator in evaluators:
        result = evaluator.evaluate(model, data, features=features)
        scores.update({k: float(v) for k, v in result.items()})
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


def evaluate_with_baseline(run_dir: Path, recipe: dict, model, data, evaluators, step: int) -> dict:
    """The evaluators' scores of ``model`` and (as ``random_init.*``) of the run's initial weights.

    Writes the evaluators' artefacts into ``run_dir`` and the scores to TensorBoard (``logs/eval``).
    """
    from kssl.viz.tensorboard import log_scalars

    features = FeatureCache()  # one per run: every evaluator and picture embeds each split once per model
    say("evaluating the trained model")
    metrics = evaluate(model, data, evaluators, features)
    for evaluator in evaluators:
        evaluator.write_artifacts(run_dir, model, data, features=features)
    say("evaluating the randomly initialised model training started from, for comparison")
    baseline = load_baseline(run_dir, recipe, data)
    compared = [e for e in evaluators if e.scores_baseline]  # label efficiency trains its own from-scratch baseline
    metrics.update({f"random_init.{k}": v for k, v in evaluate(baseline, data, compared, features).items()})
    log_scalars(Path(run_dir) / "logs" / "eval", metrics, step=step)
    return metrics


def evaluate_run(run_dir, recipe: dict | None = None) -> dict:
    """Re-score a finished run's saved model with its recipe's evaluators (``recipe``: its recipe.yaml, if already loaded)."""
    run_dir = Path(run_dir)
    if not (run_dir / "recipe.yaml").is_file():
        raise KsslError(f"{str(run_dir)!r}: not a kssl run directory (no recipe.yaml). Give the folder `kssl train` printed.")
    if not (run_dir / "model.keras").is_file():
        raise KsslError(f"{str(run_dir)!r}: has no model.keras: the run did not finish. Resume it with `kssl train --resume {run_dir}`.")
    recipe = load_recipe(recipe if recipe is not None else run_dir / "recipe.yaml")
    data, evaluators = build_inputs(recipe)
    if not evaluators:
        raise KsslError(f"{run_dir / 'recipe.yaml'}: the recipe lists no evaluators (eval: [...]); nothing to score.")
    model = load_model(run_dir / "model.keras")
    check_evaluators(evaluators, model)
    return evaluate(model, data, evaluators)
