"""Label efficiency: frozen probe, fine-tuned encoder and the same network from scratch, per label budget."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from kssl.checks import check_int
from kssl.eval._labels import labeled_features
from kssl.eval.label_budget import label_budgets
from kssl.eval.linear_probe import LinearProbeEvaluator
from kssl.eval.supervised_evaluator import SupervisedEvaluator
from kssl.transfer.fine_tuning import fresh_weights

METHODS = ("raw_input", "linear_probe", "fine_tune", "scratch")


class LabelEfficiencyEvaluator(SupervisedEvaluator):
    """For each label budget, four held-out accuracies side by side, over ``repeats`` draws of the labels:

    - ``raw_input``: logistic regression on the raw, unstandardised inputs (pixels), the bar SSL
      features must clear;
    - ``linear_probe``: logistic regression on the frozen features of the budget's samples;
    - ``fine_tune``: a copy of the pretrained encoder with a new head, all weights trained
      (the encoder at ``encoder_learning_rate_scale`` times the head's rate);
    - ``scratch``: the same encoder architecture, newly initialised, trained on the same
      samples with the same optimizer, steps, batch size and augmentation (the encoder
      at the full rate: a scaled-down rate would handicap it).

    Every budget and draw uses the same seed for all four (the same samples, head
    initialisation and batch order). Metrics: ``label_efficiency.{budget}.{method}_accuracy``
    and ``..._std`` with budget ``5_per_class`` or ``frac_0.1``. The run directory gets
    ``label_efficiency.png`` (accuracy against labels per class, log axis, error bars),
    ``label_efficiency.json`` (every draw, and seconds per budget) and TensorBoard
    scalars in ``logs/label_efficiency`` (step: labels per class). This evaluator
    includes its own from-scratch baseline, so the run's random-init model is not
    scored with it.

    Args:
        labels_per_class: budgets in labels per class, e.g. ``[1, 5, 10, 50]``.
        fractions: budgets as fractions of each class, e.g. ``[0.1, 1.0]``.
        repeats: draws per budget.
        seed: seed of the first draw.
        steps, batch_size, optimizer, learning_rate, weight_decay,
        encoder_learning_rate_scale, augment: as for the ``fine_tune`` evaluator.
    """

    name = "label_efficiency"
    scores_baseline = False

    def __init__(
        self,
        labels_per_class=(1, 5, 10, 50),
        fractions=None,
        repeats: int = 3,
        seed: int = 0,
        steps: int = 200,
        batch_size: int = 64,
        optimizer: str = "adamw",
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
        encoder_learning_rate_scale: float = 0.1,
        augment: bool = False,
    ):
        super().__init__(steps, batch_size, optimizer, learning_rate, weight_decay, encoder_learning_rate_scale, augment)
        self.budgets = label_budgets(self.name, labels_per_class, fractions)
        self.labels_per_class = [b.per_class for b in self.budgets if b.per_class is not None]
        self.fractions = [b.fraction for b in self.budgets if b.fraction is not None]
        self.repeats = check_int("repeats", repeats, low=1)
        self.seed = check_int("seed", seed, low=0)
        self._tables: dict = {}  # id(model) -> the last evaluation's table, for write_artifacts

    def get_config(self) -> dict:
        return {"labels_per_class": self.labels_per_class, "fractions": self.fractions, "repeats": self.repeats, "seed": self.seed, **self.training_config()}

    def check_data(self, data) -> None:
        for budget in self.budgets:
            budget.check(data.y_train, data.class_names)

    def evaluate(self, model, data, features=None) -> dict:
        from kssl.evaluation import say

        train, y_train, test, y_test = labeled_features(self.name, model, data, features)
        raw_train, raw_test = (np.asarray(a, np.float32).reshape(len(a), -1) for a in (data.x_train, data.x_test))
        num_classes = data.num_classes or int(max(y_train.max(), y_test.max())) + 1
        probe, raw = LinearProbeEvaluator(), LinearProbeEvaluator(standardize=False)
        fine, scratch = self.trainers(model, num_classes)
        pretrained = model.encoder.get_weights()
        table = []
        for budget in self.budgets:
            budget.check(y_train, data.class_names)
            started, runs = time.time(), {m: [] for m in METHODS}
            for r in range(self.repeats):
                seed = self.seed + r
                rows = budget.draw(y_train, seed)
                x, y = data.x_train[rows], y_train[rows]
                runs["raw_input"].append(float(np.mean(raw.fit_predict(raw_train[rows], y, raw_test, num_classes) == y_test)))
                runs["linear_probe"].append(float(np.mean(probe.fit_predict(train[rows], y, test, num_classes, unlabeled=train) == y_test)))
                runs["fine_tune"].append(self.train_and_score(fine, pretrained, x, y, data.x_test, y_test, seed))
                runs["scratch"].append(self.train_and_score(scratch, fresh_weights(model.encoder, seed), x, y, data.x_test, y_test, seed))
                say(f"label efficiency {budget.key} ({len(rows)} labels), draw {r + 1}/{self.repeats}: " + ", ".join(f"{m} {runs[m][-1]:.3f}" for m in METHODS))
            table.append({"budget": budget.key, "labels_per_class": budget.mean_per_class(y_train), "seconds": round(time.time() - started, 2), **runs})
        self._tables[id(model)] = (model, table)
        return {
            f"{self.name}.{row['budget']}.{m}_accuracy{suffix}": float(stat(row[m]))
            for row in table
            for m in METHODS
            for suffix, stat in (("", np.mean), ("_std", np.std))
        }

    def write_artifacts(self, run_dir, model, data, features=None) -> list:
        from kssl.run_dir import atomic_write_json
        from kssl.viz.label_efficiency_plot import plot_label_efficiency
        from kssl.viz.tensorboard import log_scalars

        hit = self._tables.get(id(model))
        if hit is None or hit[0] is not model:
            self.evaluate(model, data, features)
            hit = self._tables[id(model)]
        table, run_dir = hit[1], Path(run_dir)
        atomic_write_json(run_dir / "label_efficiency.json", {"config": self.get_config(), "budgets": table})
        plot_label_efficiency(table, run_dir / "label_efficiency.png", title=f"label efficiency ({self.repeats} draws per budget)")
        for row in table:
            scores = {f"{self.name}/{m}_accuracy": float(np.mean(row[m])) for m in METHODS}
            log_scalars(run_dir / "logs" / self.name, scores, step=max(1, round(row["labels_per_class"])))
        return [run_dir / "label_efficiency.json", run_dir / "label_efficiency.png"]
