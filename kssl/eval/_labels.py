"""Shared steps of the evaluators that need a labeled dataset."""

from __future__ import annotations

import numpy as np

from kssl.errors import KsslError
from kssl.eval.features import embed


def require_labels(evaluator: str, data) -> None:
    """Raise unless ``data`` has labeled, non-empty train and test splits."""
    if not data.has_labels:
        raise KsslError(
            f"evaluator {evaluator!r} needs a labeled dataset (train and test splits with labels), but the dataset has "
            "no labels. Use a labeled dataset (class sub-folders, a `y` array, digits, ...) or remove this evaluator from `eval`."
        )
    if len(data.x_train) == 0 or len(data.x_test) == 0:
        raise KsslError(
            f"evaluator {evaluator!r} needs samples in both splits, got {len(data.x_train)} train and "
            f"{len(data.x_test)} test samples. Use more data or a larger test_fraction."
        )


def labeled_features(evaluator: str, model, data):
    """(train features, train labels, test features, test labels) from ``model``'s frozen encoder."""
    require_labels(evaluator, data)
    train = embed(model, data.x_train, batch_size=data.batch_size)
    test = embed(model, data.x_test, batch_size=data.batch_size)
    return train, np.asarray(data.y_train).astype(int).reshape(-1), test, np.asarray(data.y_test).astype(int).reshape(-1)
