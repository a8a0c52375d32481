"""The MFCC baseline: logistic regression on hand-crafted speech features, no learned encoder involved."""

from __future__ import annotations

import numpy as np

from kssl.checks import check_int, check_positive
from kssl.errors import KsslError
from kssl.eval._labels import labels, require_labels
from kssl.eval.evaluator import Evaluator


def mfcc(log_mel, n_mfcc: int) -> np.ndarray:
    """MFCCs of log-mel frames (..., n_mels): the first ``n_mfcc`` coefficients of their orthonormal DCT-II (scipy.fft.dct)."""
    from scipy.fft import dct

    return dct(np.asarray(log_mel, np.float64), type=2, norm="ortho", axis=-1)[..., :n_mfcc]


def summary(coefficients) -> np.ndarray:
    """(N, frames, n_mfcc) -> (N, 2 * n_mfcc): each coefficient's mean and standard deviation over time."""
    coefficients = np.asarray(coefficients, np.float64)
    return np.concatenate([coefficients.mean(axis=1), coefficients.std(axis=1)], axis=1)


class MFCCProbeEvaluator(Evaluator):
    """Accuracy of a logistic regression on MFCC statistics of the raw waveforms; the model is ignored.

    A reference point people know: each clip becomes the mean and standard deviation over
    time of its first ``n_mfcc`` mel-frequency cepstral coefficients (the DCT-II of the
    log-mel spectrogram of :class:`kssl.audio.log_mel.LogMelSpectrogram`, 25 ms windows every
    10 ms); scikit-learn's ``StandardScaler`` + ``LogisticRegression`` is fit on the training
    split and scored on the test split. A trained and a random-init model get the same score:
    the number a self-supervised encoder's linear probe should beat. Returns
    ``{"mfcc_probe_accuracy": ...}``.

    Args:
        sample_rate: rate of the waveforms in Hz; None: the dataset's ``context["sample_rate"]``.
        n_mfcc: coefficients kept (of ``n_mels``).
        n_mels: mel bands of the log-mel spectrogram.
        C: inverse L2 strength of the logistic regression.
        max_iter: solver iterations.
    """

    name = "mfcc_probe"
    requires_labels = True

    def __init__(self, sample_rate=None, n_mfcc: int = 13, n_mels: int = 40, C: float = 1.0, max_iter: int = 2000):
        self.sample_rate = None if sample_rate is None else check_int("sample_rate", sample_rate, low=1000, high=384000)
        self.n_mels = check_int("n_mels", n_mels, low=2, high=128)
        self.n_mfcc = check_int("n_mfcc", n_mfcc, low=1, high=self.n_mels)
        self.C = check_positive("C", C)
        self.max_iter = check_int("max_iter", max_iter, low=1)
        self._last = None  # (arrays, rate, scores): the model is ignored, so the random-init run reuses the trained run's score

    def get_config(self) -> dict:
        return {"sample_rate": self.sample_rate, "n_mfcc": self.n_mfcc, "n_mels": self.n_mels, "C": self.C, "max_iter": self.max_iter}

    def rate(self, data) -> int:
        rate = self.sample_rate or data.context.get("sample_rate")
        if rate is None:
            raise KsslError(f"evaluator {self.name!r}: the dataset gives no sample rate (context['sample_rate']); set `sample_rate:` in its eval entry.")
        return int(rate)

    def check_data(self, data) -> None:
        require_labels(self.name, data)
        rate = self.rate(data)
        if np.ndim(data.x_train) not in (2, 3) or (np.ndim(data.x_train) == 3 and np.shape(data.x_train)[-1] != 1):
            raise KsslError(f"evaluator {self.name!r} scores mono waveforms (N, T) or (N, T, 1), got data of shape {np.shape(data.x_train)}.")
        if np.shape(data.x_train)[1] < rate // 100 * 3:
            raise KsslError(f"evaluator {self.name!r}: clips of {np.shape(data.x_train)[1]} samples are shorter than 3 frames of 10 ms at {rate} Hz.")

    def features(self, waveforms, sample_rate: int, batch_size: int = 256) -> np.ndarray:
        """(N, 2 * n_mfcc) MFCC mean/std features of (N, T) or (N, T, 1) waveforms."""
        from kssl.audio.log_mel import LogMelSpectrogram

        step = sample_rate // 100
        frame = sample_rate * 25 // 1000
        front = LogMelSpectrogram(sample_rate=sample_rate, n_mels=self.n_mels, frame_length=frame, frame_step=step)
        x = np.asarray(waveforms, np.float32)
        x = x.reshape(len(x), -1)
        parts = [summary(mfcc(np.asarray(front(x[s : s + batch_size])), self.n_mfcc)) for s in range(0, len(x), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, 2 * self.n_mfcc))

    def evaluate(self, model, data, features=None) -> dict:
        self.check_data(data)
        rate = self.rate(data)
        arrays = (data.x_train, data.y_train, data.x_test, data.y_test)
        last = self._last
        if last is None or last[1] != rate or any(a is not b for a, b in zip(last[0], arrays)):
            self._last = last = (arrays, rate, self._score(data, rate))  # holds the arrays: identity stays meaningful
        return dict(last[2])

    def _score(self, data, rate: int) -> dict:
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        train, test = self.features(data.x_train, rate), self.features(data.x_test, rate)
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=self.C, max_iter=self.max_iter))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(train, labels(data.y_train))
        return {"mfcc_probe_accuracy": float(np.mean(clf.predict(test) == labels(data.y_test)))}
