"""``kssl.monitors.CollapseMonitor``: watch an embedding for collapse while a pretext task trains."""

from __future__ import annotations

import math
import sys

import keras

from kssl.checks import check_int, check_number
from kssl.inference import map_batches
from kssl.monitors._shared import check_samples, due, fixed_sample, require_pretext
from kssl.monitors.collapse_metrics import collapse_metrics


class CollapseMonitor(keras.callbacks.Callback):
    """Every ``every`` epochs, measures how spread out the embedding of a fixed sample of inputs is.

    From the L2-normalised features of ``model.embed`` (the frozen encoder) of up to
    ``samples`` inputs of ``x`` (a fixed random subset), it writes into the epoch's logs
    (hence history.csv and TensorBoard, when it runs before those callbacks):

    - ``collapse_std``: mean per-dimension standard deviation; about ``1/sqrt(d)`` for a
      d-dim embedding spread over the sphere, 0 when every sample maps to one point;
      ``collapse_std_relative`` is it times ``sqrt(d)`` (about 1 healthy, 0 collapsed);
    - ``collapse_rank``: RankMe, the effective rank (Garrido et al., ICML 2023), from 1
      (collapsed to a line) up to ``min(samples, d)``;
    - ``collapse_uniformity``: ``log mean exp(-2 ||u - v||^2)`` over pairs (Wang & Isola,
      ICML 2020); 0 collapsed, more negative more uniform;
    - ``collapse_alignment``: ``mean ||f(x1) - f(x2)||^2`` over two augmented views, only
      when the model has an augmenter; 0 is perfect alignment (also when collapsed).

    When ``collapse_std_relative < std_threshold`` or ``collapse_rank < rank_threshold`` it
    prints one ``kssl: warning:`` line to stderr for that epoch, with what to try.
    Measures at the first epoch of a ``fit``, every ``every``-th and the last. It hooks
    only epoch ends, so it leaves Keras's asynchronous step dispatch on.

    Args:
        x: inputs (N, ...) the pretext task trains on; labels are not needed.
        every: measure every ``every`` epochs.
        samples: how many inputs to embed (a fixed random subset of ``x``; None: all). Uniformity
            compares every pair: memory and time grow with ``samples`` squared.
        batch_size: inference batch size.
        std_threshold: warn below this ``collapse_std_relative`` (0: never).
        rank_threshold: warn below this RankMe (0: never).
    """

    async_safe = True  # hooks epoch ends only: never makes Keras wait for each step

    def __init__(self, x, every: int = 1, samples: int | None = 512, batch_size: int = 256, std_threshold: float = 0.02, rank_threshold: float = 1.5):
        super().__init__()
        check_samples("x", x)
        self.every = check_int("every", every, low=1)
        self.samples = None if samples is None else check_int("samples", samples, low=2)
        self.batch_size = check_int("batch_size", batch_size, low=1)
        self.std_threshold = check_number("std_threshold", std_threshold, low=0.0)
        self.rank_threshold = check_number("rank_threshold", rank_threshold, low=0.0)
        (self.x,) = fixed_sample(x, self.samples)
        self.last = {}
        self.warnings = []
        self._first_epoch = None

    def on_train_begin(self, logs=None):
        require_pretext("CollapseMonitor", self.model)
        self._first_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        if self._first_epoch is None:
            self._first_epoch = epoch
        if not due(epoch, self.every, self._first_epoch, self.params.get("epochs")):
            return
        self.last = self.measure()
        if logs is not None:
            logs.update(self.last)
        self._warn(epoch)

    def measure(self) -> dict:
        """The collapse numbers of the model's current embedding of the fixed sample."""
        model = self.model
        z = model.embed(self.x, batch_size=self.batch_size)
        if model.augmenter is None:
            return collapse_metrics(z)
        v1, v2 = map_batches(lambda b: tuple(model.views(b, 2, training=True)), self.x, self.batch_size)
        return collapse_metrics(z, model.embed(v1, batch_size=self.batch_size), model.embed(v2, batch_size=self.batch_size))

    def _warn(self, epoch: int) -> None:
        std, rank = self.last["collapse_std_relative"], self.last["collapse_rank"]
        if math.isnan(std) or not (std < self.std_threshold or rank < self.rank_threshold):
            return
        line = (
            f"kssl: warning: epoch {epoch + 1}: the embedding is collapsing (collapse_std {self.last['collapse_std']:.4g}, "
            f"{std:.3g} x 1/sqrt(d), threshold {self.std_threshold:g}; RankMe {rank:.3g}, threshold {self.rank_threshold:g}). "
            "Try a lower optimizer.learning_rate, a higher pretext.temperature, or check the augmenter "
            "(views too alike make the task trivial; too strong leave nothing to agree on)."
        )
        self.warnings.append(line)
        print(line, file=sys.stderr, flush=True)
