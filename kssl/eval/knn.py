"""k-nearest-neighbour accuracy of frozen features (cosine similarity)."""

from __future__ import annotations

import numpy as np

from kssl.checks import check_choice, check_int, check_positive
from kssl.eval._labels import labeled_features, require_labels
from kssl.eval.evaluator import Evaluator

WEIGHTINGS = ("distance-softmax", "uniform")


class KNNEvaluator(Evaluator):
    """Classify each held-out sample by its ``k`` most cosine-similar training samples.

    ``weighting: distance-softmax`` weighs each neighbour's vote by
    ``exp(similarity / temperature)``, as in Wu et al., "Unsupervised Feature
    Learning via Non-Parametric Instance Discrimination" (CVPR 2018);
    ``uniform`` counts votes (ties go to the smaller class id). Returns
    ``{"knn_accuracy": ...}``.

    Args:
        k: number of neighbours (capped at the number of training samples).
        weighting: ``distance-softmax`` or ``uniform``.
        temperature: softmax temperature of ``distance-softmax``.
        chunk_size: test samples scored at once (bounds memory to chunk_size x N_train).
    """

    name = "knn"
    requires_labels = True

    def __init__(self, k: int = 20, weighting: str = "distance-softmax", temperature: float = 0.07, chunk_size: int = 1024):
        self.k = check_int("k", k, low=1)
        self.weighting = check_choice("weighting", weighting, WEIGHTINGS)
        self.temperature = check_positive("temperature", temperature)
        self.chunk_size = check_int("chunk_size", chunk_size, low=1)

    def get_config(self) -> dict:
        return {"k": self.k, "weighting": self.weighting, "temperature": self.temperature, "chunk_size": self.chunk_size}

    def check_data(self, data) -> None:
        require_labels(self.name, data)  # before training: a single class would score a meaningless 1.0

    def predict(self, train_features, train_labels, test_features, num_classes: int | None = None) -> np.ndarray:
        """Predicted class ids of ``test_features`` (numpy, batched over the test samples)."""
        train_labels = np.asarray(train_labels, dtype=int)
        num_classes = int(num_classes if num_classes is not None else train_labels.max() + 1)
        train, test = unit_rows(train_features), unit_rows(test_features)
        k = min(self.k, len(train))
        predictions = []
        for start in range(0, len(test), self.chunk_size):
            sims = test[start : start + self.chunk_size] @ train.T
            idx = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            top = np.take_along_axis(sims, idx, axis=1)
            if self.weighting == "distance-softmax":
                votes = np.exp((top - top.max(axis=1, keepdims=True)) / self.temperature)  # shift: same argmax, no overflow
            else:
                votes = np.ones_like(top)
            scores = np.zeros((len(sims), num_classes))
            np.add.at(scores, (np.arange(len(sims))[:, None], train_labels[idx]), votes)
            predictions.append(scores.argmax(axis=1))
        return np.concatenate(predictions) if predictions else np.zeros(0, int)

    def evaluate(self, model, data, features=None) -> dict:
        train, y_train, test, y_test = labeled_features(self.name, model, data, features)
        num_classes = int(max(y_train.max(), y_test.max())) + 1
        predictions = self.predict(train, y_train, test, num_classes)
        return {"knn_accuracy": float(np.mean(predictions == y_test))}


def unit_rows(features) -> np.ndarray:
    """Rows scaled to unit L2 norm (float64; zero rows stay zero)."""
    features = np.asarray(features, dtype=np.float64)
    return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
