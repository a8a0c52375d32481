"""Labeled batches for fine-tuning: a fixed number of steps per epoch, however few the labels."""

from __future__ import annotations

import keras
import numpy as np


class LabeledBatches(keras.utils.PyDataset):
    """``(x, y)`` batches drawn from a seeded stream of permutations of the samples.

    An epoch is ``steps_per_epoch`` batches of ``batch_size`` samples; the stream runs on
    across epochs (each sample once per pass, passes back to back), so ten labeled samples
    and a budget of 200 steps make one 200-step epoch rather than 200 one-step epochs,
    each with Keras's per-epoch overhead.
    """

    def __init__(self, x, y, batch_size: int, steps_per_epoch: int, seed: int = 0):
        super().__init__()
        self.x, self.y = x, np.asarray(y)
        self.batch_size = int(batch_size)
        self.steps_per_epoch = int(steps_per_epoch)
        self._rng = np.random.default_rng(seed)
        self._stream = np.zeros(0, dtype=int)
        self._epoch_rows = self._next_rows()

    def _next_rows(self) -> np.ndarray:
        need = self.steps_per_epoch * self.batch_size
        while len(self._stream) < need:
            self._stream = np.concatenate([self._stream, self._rng.permutation(len(self.x))])
        rows, self._stream = self._stream[:need], self._stream[need:]
        return rows

    def __len__(self):
        return self.steps_per_epoch

    def __getitem__(self, index):
        rows = self._epoch_rows[index * self.batch_size : (index + 1) * self.batch_size]
        return self.x[rows], self.y[rows]

    def on_epoch_end(self):
        self._epoch_rows = self._next_rows()
