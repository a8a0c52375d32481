"""``kssl.monitors.OnlineProbe``: kNN and linear-probe accuracy of the frozen features while a pretext task trains."""

from __future__ import annotations

import keras
import numpy as np

from kssl.checks import check_int
from kssl.errors import ArgumentError
from kssl.eval.knn import KNNEvaluator
from kssl.eval.linear_probe import LinearProbeEvaluator
from kssl.monitors._shared import check_samples, due, fixed_sample, require_pretext


class OnlineProbe(keras.callbacks.Callback):
    """Every ``every`` epochs, scores the frozen features of ``model.embed`` on a labeled split.

    Embeds the training and held-out inputs, then writes into the epoch's logs (hence
    history.csv and TensorBoard, when it runs before those callbacks)
    ``online_knn_accuracy`` (:class:`kssl.eval.knn.KNNEvaluator` with ``k`` neighbours)
    and ``online_linear_probe_accuracy`` (:class:`kssl.eval.linear_probe.LinearProbeEvaluator`,
    logistic regression on standardised features). Labels never reach the pretext task.
    Measures at the first epoch of a ``fit`` (Keras's CSVLogger fixes its columns there),
    every ``every``-th and the last; other epochs have no value ("NA" in history.csv).
    It hooks only epoch ends, so it leaves Keras's asynchronous step dispatch on.

    Args:
        x_train, y_train: inputs and integer labels the kNN and the linear probe fit on.
        x_test, y_test: held-out inputs and labels they are scored on.
        every: measure every ``every`` epochs.
        k: kNN neighbours.
        batch_size: inference batch size.
        max_samples: at most this many samples of each split (a fixed random subset), to
            keep a measurement cheap on large datasets; None: all.
    """

    async_safe = True  # hooks epoch ends only: never makes Keras wait for each step

    def __init__(self, x_train, y_train, x_test, y_test, every: int = 5, k: int = 20, batch_size: int = 256, max_samples: int | None = 5000):
        super().__init__()
        for name, x in (("x_train", x_train), ("y_train", y_train), ("x_test", x_test), ("y_test", y_test)):
            check_samples(name, x)
        _check_pair("train", x_train, y_train)
        _check_pair("test", x_test, y_test)
        self.every = check_int("every", every, low=1)
        self.k = check_int("k", k, low=1)
        self.batch_size = check_int("batch_size", batch_size, low=1)
        self.max_samples = None if max_samples is None else check_int("max_samples", max_samples, low=1)
        self.x_train, self.y_train = fixed_sample(x_train, self.max_samples, 0, _labels("y_train", y_train))
        self.x_test, self.y_test = fixed_sample(x_test, self.max_samples, 1, _labels("y_test", y_test))
        self.num_classes = int(max(self.y_train.max(), self.y_test.max())) + 1
        self.last = {}
        self._first_epoch = None

    def on_train_begin(self, logs=None):
        require_pretext("OnlineProbe", self.model)
        self._first_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        if self._first_epoch is None:
            self._first_epoch = epoch
        if not due(epoch, self.every, self._first_epoch, self.params.get("epochs")):
            return
        self.last = self.measure()
        if logs is not None:
            logs.update(self.last)

    def measure(self) -> dict:
        """``{"online_knn_accuracy": ..., "online_linear_probe_accuracy": ...}`` of the model's current features."""
        train = self.model.embed(self.x_train, batch_size=self.batch_size)
        test = self.model.embed(self.x_test, batch_size=self.batch_size)
        if not (np.isfinite(train).all() and np.isfinite(test).all()):  # diverged: the NaN stop reports it
            return {"online_knn_accuracy": float("nan"), "online_linear_probe_accuracy": float("nan")}
        knn = KNNEvaluator(k=self.k).predict(train, self.y_train, test, self.num_classes)
        linear = LinearProbeEvaluator().fit_predict(train, self.y_train, test, self.num_classes)
        return {
            "online_knn_accuracy": float(np.mean(knn == self.y_test)),
            "online_linear_probe_accuracy": float(np.mean(linear == self.y_test)),
        }


def _check_pair(split: str, x, y) -> None:
    if len(x) != len(y):
        raise ArgumentError(f"y_{split}", f"expected one label per sample of x_{split} ({len(x)}), got {len(y)} labels.")


def _labels(name: str, y) -> np.ndarray:
    shape = np.shape(y)
    y = np.asarray(y).reshape(len(y), -1)
    if y.shape[1] != 1 or not np.issubdtype(y.dtype, np.number) or not np.all(np.mod(y, 1) == 0) or y.min() < 0:
        raise ArgumentError(name, f"expected integer class ids >= 0, one per sample, got an array of {y.dtype} with shape {shape}.")
    return y[:, 0].astype(int)
