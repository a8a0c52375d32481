"""Shared steps of the evaluators that need a labeled dataset."""

from __future__ import annotations

import numpy as np

from kssl.errors import KsslError
from kssl.eval.evaluator import Evaluator


def require_labels(evaluator: str, data) -> None:
    """Raise unless ``data`` has labeled, non-empty train and test splits, with two or more classes in training."""
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
    classes = np.unique(labels(data.y_train))
    if len(classes) < 2:
        raise KsslError(
            f"evaluator {evaluator!r} needs two or more classes, but every training label is {int(classes[0])}: any "
            "classifier would score a meaningless 1.0. Use a dataset with several classes, or remove this evaluator from `eval`."
        )


def labels(y) -> np.ndarray:
    """Integer class ids as a 1-D array."""
    return np.asarray(y).astype(int).reshape(-1)


def labeled_features(name: str, model, data, features=None, batch_size: int | None = None, **options):
    """(train features, train labels, test features, test labels) from ``model.embed``, checked for labels.

    ``features`` is the run's :class:`~kssl.eval.feature_cache.FeatureCache` (None: embed
    afresh); ``batch_size`` defaults to the dataset's; ``options`` go to ``model.embed``.
    """
    require_labels(name, data)
    batch_size = batch_size or data.batch_size
    train = Evaluator.features_of(features, model, data.x_train, batch_size, **options)
    test = Evaluator.features_of(features, model, data.x_test, batch_size, **options)
    return train, labels(data.y_train), test, labels(data.y_test)
