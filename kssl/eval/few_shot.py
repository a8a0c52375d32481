"""Few-shot accuracy of frozen features: k labeled examples per class, drawn several times."""

from __future__ import annotations

import numpy as np

from kssl.checks import check_int, check_positive
from kssl.eval._labels import labeled_features
from kssl.eval.evaluator import Evaluator
from kssl.eval.knn import unit_rows
from kssl.eval.label_budget import LabelBudget, label_budgets
from kssl.eval.linear_probe import LinearProbeEvaluator


class FewShotEvaluator(Evaluator):
    """Score frozen features with ``k`` labeled training examples per class, for each ``k`` in ``shots``.

    For every ``k`` the labeled examples are drawn ``repeats`` times (stratified, seeds
    ``seed``, ``seed + 1``, ...: the trained and the random-init model see the same draws)
    and the held-out split is classified two ways:

    - ``logistic``: multinomial logistic regression (the linear probe's, with inverse
      regularisation ``C``) on features standardised with the statistics of the whole
      training split (no labels needed for those);
    - ``ncm``: nearest class mean of the L2-normalised features (cosine similarity to
      each class's mean), the few-shot baseline of Snell et al., "Prototypical Networks
      for Few-shot Learning" (NeurIPS 2017), with no parameters to fit.

    Returns ``few_shot_{k}_logistic_accuracy`` and ``few_shot_{k}_ncm_accuracy`` (means
    over the draws) with ``..._std`` (their standard deviations).

    Args:
        shots: labels per class, an integer or a list (e.g. ``[1, 5, 10]``).
        repeats: draws per ``k``.
        seed: seed of the first draw.
        C: inverse L2 strength of the logistic regression.
    """

    name = "few_shot"
    requires_labels = True

    def __init__(self, shots=(1, 5, 10), repeats: int = 5, seed: int = 0, C: float = 1.0):
        self.shots = [b.per_class for b in label_budgets(self.name, labels_per_class=shots)]
        self.repeats = check_int("repeats", repeats, low=1)
        self.seed = check_int("seed", seed, low=0)
        self.C = check_positive("C", C)

    def get_config(self) -> dict:
        return {"shots": list(self.shots), "repeats": self.repeats, "seed": self.seed, "C": self.C}

    def check_data(self, data) -> None:
        for k in self.shots:
            LabelBudget(per_class=k).check(data.y_train, data.class_names)

    def evaluate(self, model, data, features=None) -> dict:
        train, y_train, test, y_test = labeled_features(self.name, model, data, features)
        probe = LinearProbeEvaluator(C=self.C)
        num_classes = int(max(y_train.max(), y_test.max())) + 1
        scores = {}
        for k in self.shots:
            budget = LabelBudget(per_class=k)
            budget.check(y_train, data.class_names)
            runs = {"logistic": [], "ncm": []}
            for r in range(self.repeats):
                rows = budget.draw(y_train, self.seed + r)
                runs["logistic"].append(np.mean(probe.fit_predict(train[rows], y_train[rows], test, num_classes, unlabeled=train) == y_test))
                runs["ncm"].append(np.mean(nearest_class_mean(train[rows], y_train[rows], test) == y_test))
            for head, accuracies in runs.items():
                scores[f"few_shot_{k}_{head}_accuracy"] = float(np.mean(accuracies))
                scores[f"few_shot_{k}_{head}_accuracy_std"] = float(np.std(accuracies))
        return scores


def nearest_class_mean(train, y_train, test) -> np.ndarray:
    """Class ids of ``test``: the class whose mean L2-normalised training feature is most cosine-similar."""
    train, test = unit_rows(train), unit_rows(test)
    classes = np.unique(np.asarray(y_train).astype(int))
    means = unit_rows(np.stack([train[y_train == c].mean(axis=0) for c in classes]))
    return classes[np.argmax(test @ means.T, axis=1)]
