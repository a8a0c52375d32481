"""Keras callbacks for a kssl run: atomic per-epoch checkpoints and a NaN/Inf stop."""

from __future__ import annotations

import math
import re
from pathlib import Path

import keras

from kssl.run_dir import atomic_save_model

_CKPT = re.compile(r"^epoch-(\d+)\.keras$")


def latest_checkpoint(checkpoint_dir) -> tuple[Path, int] | None:
    """``(path, epochs_done)`` of the newest complete checkpoint, or None."""
    best = None
    for p in Path(checkpoint_dir).glob("epoch-*.keras"):
        m = _CKPT.match(p.name)
        if m and (best is None or int(m.group(1)) > best[1]):
            best = (p, int(m.group(1)))
    return best


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
        done = sorted(
            (int(m.group(1)), p) for p in self.checkpoint_dir.glob("epoch-*.keras") if (m := _CKPT.match(p.name))
        )
        for _, old in done[: -self.keep]:
            old.unlink(missing_ok=True)
