"""The exponential-moving-average (momentum) update of a target network, as a Keras callback.

One mechanism for every method with a momentum target (BYOL, MoCo v2, MoCo v3, DINO):
:func:`momentum_at` is the schedule, :class:`MomentumUpdate` applies it after every
optimizer step through the model's ``update_target(momentum)``
(:class:`kssl.pretext.momentum_task.MomentumPretextTask`).
"""

from __future__ import annotations

import math

import keras


def momentum_at(step: int, total_steps: int | None, base_momentum: float) -> float:
    """The momentum after ``step`` of ``total_steps``: ``1 - (1 - base) * (cos(pi * step / total) + 1) / 2``.

    Starts at ``base_momentum`` and rises to 1 at ``total_steps`` on a cosine (Grill et al.,
    "Bootstrap Your Own Latent", NeurIPS 2020, section 3.2; also MoCo v3 and DINO). Steps
    beyond ``total_steps`` keep 1. Without a known ``total_steps`` the momentum stays at base.
    """
    if not total_steps:
        return float(base_momentum)
    progress = min(max(step / total_steps, 0.0), 1.0)
    return 1.0 - (1.0 - base_momentum) * (math.cos(math.pi * progress) + 1.0) / 2.0


class MomentumUpdate(keras.callbacks.Callback):
    """After every training batch, move the model's target weights towards its online weights.

    Calls ``model.update_target(momentum)`` with the momentum of :func:`momentum_at` for the
    optimizer step just taken. The total number of steps is ``epochs * steps`` from ``fit``
    (or ``total_steps`` when given); the step count comes from ``model.optimizer.iterations``,
    so a resumed run continues the schedule. ``MomentumPretextTask.training_callbacks``
    returns this callback, so ``fit`` adds it by itself.

    Args:
        base_momentum: the momentum at the start of training, in [0, 1).
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
        if keras.backend.backend() == "jax":
            # JAX keeps the training state outside the variables between steps: write it back first,
            # so the update reads the weights of this step and the next step starts from the update.
            model.jax_state_sync()
        done = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
        self.last_momentum = momentum_at(done - 1, self._total, self.base_momentum)
        model.update_target(self.last_momentum)
