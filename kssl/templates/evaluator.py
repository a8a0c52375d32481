"""``kssl new-plugin NAME --kind evaluator``: an example evaluator (nearest-class-mean accuracy)."""

from kssl.templates.common import Scaffold, recipe

COMPONENT = '''\
"""The $name evaluator (an example, nearest-class-mean accuracy: replace it with your score)."""

from __future__ import annotations

import kssl
import numpy as np
from kssl.checks import check_bool
from kssl.errors import KsslError


class $cls(kssl.Evaluator):
    """Accuracy of the nearest class mean of frozen features (Mensink et al., TPAMI 2013).

    Each class is represented by the mean of its training samples' features; a test
    sample gets the class whose mean is nearest in Euclidean distance (ties: the
    smaller class id). With ``normalize``, features are scaled to unit length first
    (and the class means again after averaging), which ranks the classes by cosine
    similarity. Returns ``{"${name}_accuracy": ...}`` on the held-out split.

    Args:
        normalize: compare unit-length features (cosine) instead of raw ones.
    """

    name = "$name"
    requires_labels = True

    def __init__(self, normalize: bool = True):
        self.normalize = check_bool("normalize", normalize)

    def predict(self, train_features, train_labels, test_features) -> np.ndarray:
        """The class id of each row of ``test_features`` whose class mean is nearest."""
        train, test = self._scaled(train_features), self._scaled(test_features)
        labels = np.asarray(train_labels).reshape(-1)
        classes = np.unique(labels)
        means = self._scaled(np.stack([train[labels == c].mean(axis=0) for c in classes]))
        distances = (test**2).sum(axis=1, keepdims=True) - 2.0 * test @ means.T + (means**2).sum(axis=1)
        return classes[np.argmin(distances, axis=1)]

    def evaluate(self, model, data, features=None) -> dict:
        if not data.has_labels or len(data.x_train) == 0 or len(data.x_test) == 0:
            raise KsslError(f"evaluator {self.name!r} needs a labeled dataset with samples in both the train and the test split.")
        train = self.features_of(features, model, data.x_train, data.batch_size)
        test = self.features_of(features, model, data.x_test, data.batch_size)
        predictions = self.predict(train, data.y_train, test)
        return {"${name}_accuracy": float(np.mean(predictions == np.asarray(data.y_test).reshape(-1)))}

    def get_config(self) -> dict:
        return {"normalize": self.normalize}

    def _scaled(self, features) -> np.ndarray:
        features = np.asarray(features, dtype=np.float64)
        if not self.normalize:
            return features
        return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
'''

TESTS = '''\
"""The $name evaluator: closed-form scores, a tiny model against numpy, and its argument checks."""

import keras
import kssl
import numpy as np
import pytest
from kssl.data import DataSplits
from kssl.errors import RecipeError
from kssl.testing import build_component

from $package.$name import $cls


def tiny_model(input_dim, features=None):
    """A pretext model whose features are its inputs (``features=None``) or a random linear map of them."""
    inputs = keras.Input((input_dim,))
    layer = keras.layers.Identity() if features is None else keras.layers.Dense(features)
    return kssl.PretextTask(keras.Model(inputs, layer(inputs)))


def test_the_accuracy_in_closed_form():
    # The class means are (0, 0) and (4, 0). Of the test points, (1, 0) labeled 1 is nearer the mean
    # of class 0; (3, 0) and (5, 0) labeled 1 and (0, 1) labeled 0 are nearest their own: 3 of 4.
    x_train = np.array([[-1, 0], [1, 0], [3, 0], [5, 0]], "float32")
    x_test = np.array([[1, 0], [3, 0], [0, 1], [5, 0]], "float32")
    data = DataSplits(x_train, np.array([0, 0, 1, 1]), x_test, np.array([1, 1, 0, 1]), batch_size=2)
    metrics = $cls(normalize=False).evaluate(tiny_model(2), data)
    assert metrics == {"${name}_accuracy": 0.75}


def test_a_tiny_model_against_numpy():
    rng = np.random.default_rng(0)
    x_train, x_test = rng.normal(size=(30, 6)).astype("float32"), rng.normal(size=(40, 6)).astype("float32")
    y_train, y_test = np.arange(30) % 3, rng.integers(0, 3, size=40)
    model, evaluator = tiny_model(6, features=4), $cls()
    metrics = evaluator.evaluate(model, DataSplits(x_train, y_train, x_test, y_test, batch_size=8))
    # numpy: the features, then the class mean of the highest cosine similarity, sample by sample
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in model.encoder.layers[-1].weights)

    def unit(a):
        return a / np.linalg.norm(a, axis=-1, keepdims=True)

    train, test = x_train @ kernel + bias, x_test @ kernel + bias
    means = [unit(unit(train)[y_train == c].mean(axis=0)) for c in range(3)]
    predicted = np.array([int(np.argmax([unit(t) @ m for m in means])) for t in test])
    np.testing.assert_array_equal(evaluator.predict(train, y_train, test), predicted)
    assert metrics == {"${name}_accuracy": pytest.approx(np.mean(predicted == y_test))}


def test_config_and_bad_argument():
    assert build_component("eval.0", $cls, {"normalize": False}).get_config() == {"normalize": False}
    with pytest.raises(RecipeError, match="eval.0.normalize: expected true or false"):
        build_component("eval.0", $cls, {"normalize": "yes"})
'''

RECIPE = recipe(
    "SimCLR on the scikit-learn digits, scored by the $name evaluator ($dist); offline, CPU minutes",
    eval=["{type: knn, k: 20}", "{type: $name}"],
)

SCAFFOLD = Scaffold(
    kind="evaluator",
    is_class=True,
    summary="nearest-class-mean accuracy of frozen features, an example to replace with your score",
    usage="eval:\n  - {type: $name, normalize: true}",
    develop="a `kssl.Evaluator` subclass; replace the example\n  with your score, keeping `evaluate(model, data, features=None) -> {metric: value}` (features\n  through `self.features_of`, shared with the other evaluators) and `get_config`.",
    recipe=RECIPE,
    smoke_overrides=("data.limit=128", "data.image_size=16"),
    smoke_check='"${name}_accuracy" in metrics["metrics"]',
    component=COMPONENT,
    tests=TESTS,
)
