"""The exponential-moving-average update of BYOL's target network, as a Keras callback."""

from __future__ import annotations

import math

import keras


def momentum_at(step: int, total_steps: int | None, base_momentum: float) -> float:
    """BYOL's schedule: ``1 - (1 - base) * (cos(pi * step / total) + 1) / 2``.

    Starts at ``base_momentum`` and rises to 1 at ``total_steps`` (Grill et al.
    2020, section 3.2). Without a known ``total_steps`` the momentum stays at base.
    """
    if not total_steps:
        return float(base_momentum)
    progress = min(max(step / total_steps, 0.0), 1.0)
    return 1.0 - (1.0 - base_momentum) * (math.cos(math.pi * progress) + 1.0) / 2.0


class MomentumUpdate(keras.callbacks.Callback):
    """After every training batch, move the model's target weights towards its online weights.

    Calls ``model.update_target(momentum)`` with the momentum of
    :func:`momentum_at` for the optimizer step just taken. The total number of
    steps is ``epochs * steps`` from ``fit`` (or ``total_steps`` when given);
    the step count comes from ``model.optimizer.iterations``, so a resumed run
    continues the schedule. ``BYOL.training_callbacks`` returns this callback, so
    ``BYOL.fit`` adds it by itself.

    Args:
        base_momentum: the momentum at the start of training, in [0, 1].
        total_steps: steps over which the momentum rises to 1 (None: from fit's epochs and steps).
    """

    def __init__(self, base_momentum: float = 0.99, total_steps: int | None = None):
        super().__init__()
        self.base_momentum = float(base_momentum)
        self.total_steps = total_steps
        self._total = total_steps
        self.last_momentum = None

    def on_train_begin(self, logs=None):
        if self.total_steps is None:
            steps, epochs = self.params.get("steps"), self.params.get("epochs")
            self._total = steps * epochs if steps and epochs else None

    def on_train_batch_end(self, batch, logs=None):
        model = self.model
        if hasattr(model, "jax_state_sync"):
            model.jax_state_sync()  # JAX keeps the training state outside the variables between steps
        done = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
        self.last_momentum = momentum_at(done - 1, self._total, self.base_momentum)
        model.update_target(self.last_momentum)
