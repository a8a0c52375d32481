"""The shuffling batch feeder: a ``keras.utils.PyDataset`` of global batches, reshuffled every epoch."""

from __future__ import annotations

import keras
import numpy as np


class ShuffledBatches(keras.utils.PyDataset):
    """Batches of ``x`` (and of ``targets``, when given) in a seeded random order, new every epoch.

    Used where ``fit`` must not batch the arrays itself: JAX data parallelism (every batch
    must split evenly over the replicas) and pretext tasks whose targets change during
    training (DEC's target distribution, which the task replaces through ``targets``).

    The order is ``numpy.random.default_rng(seed).permutation`` (one draw per epoch). With
    ``replicas > 1`` the last, partial batch is trimmed to a multiple of ``replicas`` (fewer
    than ``replicas`` samples are skipped per epoch, different ones each epoch) and, in a
    multi-process run, each process yields its own share of every global batch.

    Args:
        x: the samples, an array indexed along its first axis.
        batch_size: samples per global batch.
        shuffle: reshuffle every epoch (False: the order of ``x``).
        seed: seed of the order.
        targets: optional array with one row per sample, yielded as ``(x, targets)``.
        replicas: devices each global batch is split over.
        process_index, process_count: this process's place in a multi-process run.
    """

    def __init__(self, x, batch_size: int, shuffle: bool = True, seed=None, targets=None, replicas: int = 1, process_index: int = 0, process_count: int = 1):
        super().__init__()
        self.x = x
        self.targets = targets
        self.batch_size = int(batch_size)
        self.replicas = int(replicas)
        self.shuffle = shuffle
        self.seed = seed  # also what a pretext task's own randomness (e.g. DEC's k-means) may key on
        self.process_index = process_index
        self.process_count = process_count
        self._rng = np.random.default_rng(seed)
        self._order = self._rng.permutation(len(x)) if shuffle else np.arange(len(x))
        full, rest = divmod(len(x), self.batch_size)
        self._batches = full + (1 if rest // self.replicas else 0)

    def __len__(self):
        return self._batches

    def __getitem__(self, index):
        rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        rows = rows[: len(rows) // self.replicas * self.replicas]  # a whole number of rows per replica
        share = len(rows) // self.process_count  # this process's part of the global batch
        rows = rows[self.process_index * share : (self.process_index + 1) * share]
        return self.x[rows] if self.targets is None else (self.x[rows], self.targets[rows])

    def on_epoch_end(self):
        if self.shuffle:
            self._order = self._rng.permutation(len(self.x))
