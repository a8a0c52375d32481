"""A lower learning rate for some variables (a pretrained encoder) than for the rest (a new head)."""

from __future__ import annotations

import types

from kssl.checks import check_number


def scale_learning_rate(optimizer, variables, scale: float):
    """Make ``optimizer`` step ``variables`` with ``scale`` times its learning rate; returns ``optimizer``.

    Fine-tuning a pretrained encoder with a new head usually wants a smaller rate for the
    encoder (it already holds what pretraining learned) than for the randomly initialised
    head. Keras 3 has no per-variable learning rate, and scaling gradients does not help
    Adam-type optimizers (their steps do not depend on the gradient's scale), so the
    optimizer's collective update is split in two: ``variables`` at ``scale * lr``, the
    others at ``lr``. The split is done on the backend's own update (per-variable on JAX,
    under ``tf.distribute`` on TensorFlow, fused on torch), so every optimizer and
    schedule works as before. Decoupled weight decay (AdamW) still uses the full rate.

    ``scale=1`` leaves the optimizer untouched; ``scale=0`` freezes ``variables`` (their
    optimizer state still updates).
    """
    scale = check_number("encoder_learning_rate_scale", scale, low=0.0)
    if scale == 1.0:
        return optimizer
    scaled = {id(v) for v in variables}
    update = optimizer._backend_update_step  # Keras's backend hook for one collective update

    def split_update(self, grads, trainable_variables, learning_rate):
        pairs = list(zip(grads, trainable_variables))
        rest = [(g, v) for g, v in pairs if id(v) not in scaled]
        low = [(g, v) for g, v in pairs if id(v) in scaled]
        if rest:
            update(*map(list, zip(*rest)), learning_rate)
        if low:
            update(*map(list, zip(*low)), learning_rate * scale)

    optimizer._backend_update_step = types.MethodType(split_update, optimizer)
    return optimizer
