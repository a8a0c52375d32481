"""Keras callbacks for a kssl run: atomic per-epoch checkpoints and a NaN/Inf stop."""

from __future__ import annotations

import math
import re
from pathlib import Path

import keras

from kssl.run_dir import atomic_save_model

_CKPT = re.compile(r"^epoch-(\d+)\.keras$")


def checkpoints(checkpoint_dir) -> list[tuple[int, Path]]:
    """``(epochs_done, path)`` of every complete checkpoint, oldest first (temporary files excluded)."""
    found = ((_CKPT.match(p.name), p) for p in Path(checkpoint_dir).glob("epoch-*.keras"))
    return sorted((int(m.group(1)), p) for m, p in found if m)


def latest_checkpoint(checkpoint_dir) -> tuple[Path, int] | None:
    """``(path, epochs_done)`` of the newest complete checkpoint, or None."""
    done = checkpoints(checkpoint_dir)
    return (done[-1][1], done[-1][0]) if done else None


class NonFiniteLossStop(keras.callbacks.Callback):
    """Stops training at the first NaN/Inf loss and remembers where it happened."""

    def __init__(self):
        super().__init__()
        self.bad_at = None  # (epoch, batch, value)
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and self.bad_at is None and not math.isfinite(float(loss)):
            self.bad_at = (self._epoch, batch, float(loss))
            self.model.stop_training = True


class EpochCheckpoint(keras.callbacks.Callback):
    """After each good epoch, save the whole model (weights + optimizer) as ``epoch-N.keras``.

    Each file is written under a temporary name and renamed, so a crash or
    ``kill -9`` leaves the previous checkpoint intact; older ones are pruned.
    """

    def __init__(self, checkpoint_dir, nan_guard: NonFiniteLossStop | None = None, keep: int = 1):
        super().__init__()
        self.checkpoint_dir = Path(checkpoint_dir)
        self.nan_guard = nan_guard
        self.keep = keep

    def on_epoch_end(self, epoch, logs=None):
        if self.nan_guard is not None and self.nan_guard.bad_at is not None:
            return
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            return
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        atomic_save_model(self.model, self.checkpoint_dir / f"epoch-{epoch + 1:04d}.keras")
        for _, old in checkpoints(self.checkpoint_dir)[: -self.keep]:
            old.unlink(missing_ok=True)
