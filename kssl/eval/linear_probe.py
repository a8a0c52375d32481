"""Linear-probe accuracy: a linear classifier on frozen, standardised features."""

from __future__ import annotations

import numpy as np

from kssl.checks import check_bool, check_choice, check_int, check_positive
from kssl.eval._labels import labeled_features
from kssl.eval.evaluator import Evaluator

HEADS = ("logistic", "dense")


class LinearProbeEvaluator(Evaluator):
    """Fit a linear classifier on the frozen training features, score the held-out split.

    Features are standardised with the training split's mean and deviation (scikit-learn's
    ``StandardScaler``: a feature constant over the training split is only centred).
    ``head: logistic`` fits scikit-learn's multinomial ``LogisticRegression``
    (inverse regularisation ``C``, ``max_iter``); ``head: dense`` trains a Keras
    ``Dense`` softmax layer with Adam for ``epochs``. Returns
    ``{"linear_probe_accuracy": ...}``.

    Args:
        head: ``logistic`` or ``dense``.
        C: inverse L2 strength of the logistic regression.
        max_iter: solver iterations of the logistic regression.
        epochs: training epochs of the dense head.
        learning_rate: Adam learning rate of the dense head.
        seed: seed of the dense head's initial weights and shuffling.
        standardize: standardise the features first (False: raw values, e.g. pixels that share one scale).
    """

    name = "linear_probe"
    requires_labels = True

    def __init__(
        self,
        head: str = "logistic",
        C: float = 1.0,
        max_iter: int = 1000,
        epochs: int = 30,
        learning_rate: float = 1e-2,
        seed: int = 0,
        standardize: bool = True,
    ):
        self.head = check_choice("head", head, HEADS)
        self.C = check_positive("C", C)
        self.max_iter = check_int("max_iter", max_iter, low=1)
        self.epochs = check_int("epochs", epochs, low=1)
        self.learning_rate = check_positive("learning_rate", learning_rate)
        self.seed = check_int("seed", seed, low=0)
        self.standardize = check_bool("standardize", standardize)

    def get_config(self) -> dict:
        return {
            "head": self.head,
            "C": self.C,
            "max_iter": self.max_iter,
            "epochs": self.epochs,
            "learning_rate": self.learning_rate,
            "seed": self.seed,
            "standardize": self.standardize,
        }

    def fit_predict(self, train, y_train, test, num_classes: int | None = None, unlabeled=None) -> np.ndarray:
        """Predicted class ids of ``test`` after fitting on (``train``, ``y_train``).

        The standardisation's mean and deviation come from ``unlabeled`` when given (all
        training features, labels unused: far steadier than a few labeled samples' statistics).
        """
        train, test = np.asarray(train, np.float32), np.asarray(test, np.float32)
        y_train = np.asarray(y_train, dtype=int)
        if self.standardize:
            from sklearn.preprocessing import StandardScaler

            # A feature constant over the training samples (common with few labels) keeps scale 1: dividing
            # by its ~0 deviation would blow up every held-out value that differs from the constant.
            scaler = StandardScaler().fit(train if unlabeled is None else np.asarray(unlabeled, np.float32))
            train, test = scaler.transform(train), scaler.transform(test)
        if len(np.unique(y_train)) < 2:  # nothing to separate: every sample is that class
            return np.full(len(test), y_train[0], dtype=int)
        if self.head == "logistic":
            import warnings

            from sklearn.exceptions import ConvergenceWarning
            from sklearn.linear_model import LogisticRegression

            clf = LogisticRegression(C=self.C, max_iter=self.max_iter)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(train, y_train)
            return clf.predict(test)
        return self._dense(train, y_train, test, int(num_classes or y_train.max() + 1))

    def _dense(self, train, y_train, test, num_classes: int) -> np.ndarray:
        import keras

        head = keras.Sequential(
            [
                keras.Input((train.shape[1],)),
                keras.layers.Dense(num_classes, kernel_initializer=keras.initializers.GlorotUniform(seed=self.seed)),
            ]
        )
        head.compile(
            optimizer=keras.optimizers.Adam(self.learning_rate),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        order = np.random.default_rng(self.seed).permutation(len(train))
        head.fit(train[order], y_train[order], epochs=self.epochs, batch_size=256, shuffle=False, verbose=0)
        return np.asarray(head.predict(test, batch_size=1024, verbose=0)).argmax(axis=1)

    def evaluate(self, model, data, features=None) -> dict:
        train, y_train, test, y_test = labeled_features(self.name, model, data, features)
        num_classes = int(max(y_train.max(), y_test.max())) + 1
        predictions = self.fit_predict(train, y_train, test, num_classes)
        return {"linear_probe_accuracy": float(np.mean(predictions == y_test))}
