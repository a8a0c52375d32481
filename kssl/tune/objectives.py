"""What a ``kssl tune`` trial is scored on, measured on the trained run (and on its random-init weights, for reference).

- ``val_knn_accuracy`` / ``val_linear_probe_accuracy`` (higher is better, need labels): the frozen
  features (``model.embed``) of the labeled *training* split, cut into a stratified 80/20
  fit/validation split (seeded by the recipe's ``seed``); a kNN (k = 20) or the linear probe is
  fit on the 80 % and scored on the 20 %. The recipe's test split, which the evaluators report
  on, is never used to choose: selecting on it would overfit the test set. These are the online
  probe's two numbers (:class:`kssl.monitors.OnlineProbe`) on a validation split, after the last epoch.
- ``rankme`` (higher is better, no labels): the effective rank (RankMe, Garrido et al., ICML 2023)
  of the L2-normalised features of up to 512 training inputs, as the collapse monitor's
  ``collapse_rank``. A label-free proxy: it rewards spread-out features, not useful ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kssl.errors import KsslError, did_you_mean

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Objective:
    name: str
    direction: str  # "max" or "min", as KerasTuner's Objective
    needs_labels: bool
    what: str


OBJECTIVES = {
    o.name: o
    for o in (
        Objective("val_knn_accuracy", "max", True, "kNN accuracy (k=20) of the frozen features on a validation split of the labeled training data"),
        Objective("val_linear_probe_accuracy", "max", True, "linear-probe accuracy of the frozen features on a validation split of the labeled training data"),
        Objective("rankme", "max", False, "effective rank (RankMe) of the features of up to 512 training inputs; no labels"),
    )
}
DEFAULT = "val_knn_accuracy"
VALIDATION_FRACTION = 0.2
KNN_K = 20
RANKME_SAMPLES = 512


def check_objective(name: str, data, dataset: str) -> Objective:
    """The objective called ``name``; a name that is not one, or a label objective on unlabeled data, is bad input."""
    if name not in OBJECTIVES:
        listed = "; ".join(f"{o.name}: {o.what}" for o in OBJECTIVES.values())
        raise KsslError(f"--objective: unknown objective {name!r}.{did_you_mean(name, OBJECTIVES)} Expected one of: {listed}.")
    import numpy as np  # here, not at the top: `kssl --help` imports this module for the objectives' names

    objective = OBJECTIVES[name]
    if objective.needs_labels and (data.y_train is None or len(np.unique(np.asarray(data.y_train))) < 2):
        raise KsslError(
            f"--objective {name}: this objective needs labels of at least two classes in the training split, but data {dataset!r} has none. "
            "Use the label-free --objective rankme, or a labeled dataset."
        )
    return objective


def validation_split(y, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (fit, validation) index arrays of the labeled training split: the recipe's test split stays out of the search."""
    import numpy as np

    from kssl.data._prep import split_indices  # the one train/test split of kssl's datasets

    return split_indices(len(y), np.asarray(y), VALIDATION_FRACTION, seed)


def score_model(name: str, model, data, seed: int) -> float:
    """The objective ``name`` of a trained (or random-init) pretext model on ``data`` (a DataSplits); NaN for non-finite features."""
    import numpy as np

    from kssl.monitors._shared import fixed_sample

    if name == "rankme":
        from kssl.monitors.collapse_metrics import collapse_metrics

        (x,) = fixed_sample(data.x_train, RANKME_SAMPLES)
        return float(collapse_metrics(model.embed(x, batch_size=data.batch_size))["collapse_rank"])
    y = np.asarray(data.y_train).reshape(-1).astype(int)
    fit, val = validation_split(y, seed)
    features = model.embed(data.x_train, batch_size=data.batch_size)
    if not np.isfinite(features).all():
        return float("nan")
    num_classes = int(y.max()) + 1
    if name == "val_knn_accuracy":
        from kssl.eval.knn import KNNEvaluator

        predicted = KNNEvaluator(k=min(KNN_K, len(fit))).predict(features[fit], y[fit], features[val], num_classes)
    else:
        from kssl.eval.linear_probe import LinearProbeEvaluator

        predicted = LinearProbeEvaluator().fit_predict(features[fit], y[fit], features[val], num_classes)
    return float(np.mean(predicted == y[val]))


def score_run(name: str, run_dir, data, seed: int) -> dict:
    """``{name: trained score, "random_init.<name>": score of the weights training started from}`` of a finished run directory."""
    from kssl.evaluation import INIT_MODEL
    from kssl.saving import load_model

    run_dir = Path(run_dir)
    scores = {name: score_model(name, load_model(run_dir / "model.keras", compile=False), data, seed)}
    if (run_dir / INIT_MODEL).is_file():
        scores[f"random_init.{name}"] = score_model(name, load_model(run_dir / INIT_MODEL, compile=False), data, seed)
    return scores
