"""DEC's phase schedule: k-means initialisation, target-distribution updates and the stopping rule."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kssl.losses.dec_loss import target_distribution
from kssl.optimizers import restart_optimizer


class DECSchedule(keras.callbacks.Callback):
    """Runs the phases of a :class:`kssl.pretext.dec.DEC` model at epoch boundaries.

    Bound to the :class:`kssl.data.batches.ShuffledBatches` the model trains on (made by
    ``DEC.make_dataset``): its ``x`` are the samples the target distribution is computed
    over, and its ``targets`` are replaced whenever the target distribution is recomputed.

    - At the first epoch >= ``pretrain_epochs`` (still in phase 0): k-means on the embeddings
      of all samples initialises the centroids (seeded with ``seed``), the optimizer restarts,
      the phase weight becomes 1 and the targets are computed.
    - In phase 1, every ``update_interval`` epochs: the targets are recomputed from the whole
      of ``x``; training stops when fewer than ``tolerance`` of the samples changed cluster
      since the previous update.
    - A fit that starts in phase 1 (a later ``fit`` call or a resumed run) computes the
      targets first; one that ends in phase 0 still leaves k-means centroids.

    Every epoch logs ``dec_phase`` and ``assignment_change`` (1.0 until the first update
    that has a previous assignment to compare with).

    Args:
        batches: the training ``ShuffledBatches`` (``x``, ``batch_size``, ``targets``).
        seed: seed of the k-means initialisation.
    """

    def __init__(self, batches, seed: int | None):
        super().__init__()
        self.batches = batches
        self.seed = seed
        self.previous = None  # assignments at the last target update
        self.last_update = None
        self.change = 1.0

    def _phase(self) -> int:
        return int(round(float(ops.convert_to_numpy(self.model.phase))))

    def _update_targets(self) -> float:
        """Recompute p over all samples; returns the fraction of samples that changed cluster."""
        q = self.model.soft_assignments(self.batches.x, self.batches.batch_size)
        self.batches.targets = ops.convert_to_numpy(target_distribution(q)).astype("float32")
        labels = q.argmax(axis=1)
        change = 1.0 if self.previous is None else float(np.mean(labels != self.previous))
        self.previous = labels
        return change

    def on_epoch_begin(self, epoch, logs=None):
        model = self.model
        if self._phase() == 0 and epoch >= model.pretrain_epochs:
            self.previous = model.initialize_centroids(self.batches.x, self.batches.batch_size, seed=self.seed)
            restart_optimizer(model.optimizer)
            model.phase.assign(1.0)
            self._update_targets()
            self.last_update = epoch
        elif self._phase() == 1 and self.last_update is None:  # a later fit() call or a resumed run
            self._update_targets()
            self.last_update = epoch

    def on_epoch_end(self, epoch, logs=None):
        model = self.model
        if self._phase() == 1 and self.last_update is not None and (epoch + 1 - self.last_update) >= model.update_interval:
            self.change = self._update_targets()
            self.last_update = epoch + 1
            if self.change < model.tolerance:
                model.stop_training = True
        if logs is not None:
            logs["dec_phase"] = float(self._phase())
            logs["assignment_change"] = self.change

    def on_train_end(self, logs=None):
        if self._phase() == 0:  # fit ended during pretraining: still leave usable centroids
            self.model.initialize_centroids(self.batches.x, self.batches.batch_size, seed=self.seed)
