"""Fine-tuning accuracy: the whole encoder with a new head, trained on the labeled training split."""

from __future__ import annotations

import numpy as np

from kssl.checks import check_int
from kssl.errors import ArgumentError
from kssl.eval._labels import labels, require_labels
from kssl.eval.label_budget import LabelBudget, label_budgets
from kssl.eval.supervised_evaluator import SupervisedEvaluator


class FineTuneEvaluator(SupervisedEvaluator):
    """Train a copy of the encoder with a new softmax head on labeled training samples, score the held-out split.

    All weights train; the encoder's learning rate is ``encoder_learning_rate_scale``
    times the head's. Without a budget the whole labeled training split is used; with
    ``labels_per_class`` or ``fraction`` a stratified draw of it, ``repeats`` times (seeds
    ``seed``, ``seed + 1``, ...). Returns ``fine_tune_accuracy`` (mean over the draws) and
    ``fine_tune_accuracy_std``. Scored on the run's random-init model too, this is the same
    network trained from scratch with the same recipe (``random_init.fine_tune_accuracy``).

    Args:
        labels_per_class: labeled samples per class (None: all).
        fraction: fraction of each class, in (0, 1] (None: all).
        repeats: draws of the budget (1 without a budget).
        seed: seed of the draws, the head's initial weights and the batch order.
        steps: optimizer steps (as many passes over the labeled samples as that takes).
        batch_size: samples per step (at most the number of labeled samples).
        optimizer: ``adamw``, ``adam``, ``sgd``, ``lamb`` or ``rmsprop``, cosine-decayed.
        learning_rate: the head's peak learning rate.
        weight_decay: the optimizer's weight decay.
        encoder_learning_rate_scale: the encoder's rate relative to the head's (0 freezes it).
        augment: apply the recipe's augmenter to the training batches.
    """

    name = "fine_tune"

    def __init__(
        self,
        labels_per_class: int | None = None,
        fraction: float | None = None,
        repeats: int = 1,
        seed: int = 0,
        steps: int = 300,
        batch_size: int = 64,
        optimizer: str = "adamw",
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
        encoder_learning_rate_scale: float = 0.1,
        augment: bool = False,
    ):
        super().__init__(steps, batch_size, optimizer, learning_rate, weight_decay, encoder_learning_rate_scale, augment)
        if labels_per_class is not None and fraction is not None:
            raise ArgumentError("fraction", "give labels_per_class or fraction, not both.")
        self.budget = None
        if labels_per_class is not None or fraction is not None:
            self.budget = label_budgets(self.name, labels_per_class, fraction)[0]
        self.labels_per_class = self.budget.per_class if self.budget else None
        self.fraction = self.budget.fraction if self.budget else None
        self.repeats = check_int("repeats", repeats, low=1)
        self.seed = check_int("seed", seed, low=0)

    def get_config(self) -> dict:
        return {"labels_per_class": self.labels_per_class, "fraction": self.fraction, "repeats": self.repeats, "seed": self.seed, **self.training_config()}

    def check_data(self, data) -> None:
        if self.budget is not None:
            self.budget.check(data.y_train, data.class_names)

    def evaluate(self, model, data, features=None) -> dict:
        require_labels(self.name, data)
        y_train, y_test = labels(data.y_train), labels(data.y_test)
        num_classes = data.num_classes or int(max(y_train.max(), y_test.max())) + 1
        budget = self.budget or LabelBudget(fraction=1.0)
        trainer, _ = self.trainers(model, num_classes)
        weights = model.encoder.get_weights()
        scores = []
        for r in range(self.repeats if self.budget else 1):
            rows = budget.draw(y_train, self.seed + r)
            scores.append(self.train_and_score(trainer, weights, data.x_train[rows], y_train[rows], data.x_test, y_test, seed=self.seed + r))
        return {"fine_tune_accuracy": float(np.mean(scores)), "fine_tune_accuracy_std": float(np.std(scores))}
