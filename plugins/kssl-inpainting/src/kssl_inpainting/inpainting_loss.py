"""The context encoder's reconstruction loss: mean squared error over the hidden region.

Pathak, Krähenbühl, Donahue, Darrell, Efros, "Context Encoders: Feature Learning by
Inpainting", CVPR 2016 (arXiv:1604.07379), eq. (1): ``L_rec(x) = || M ⊙ (x - F((1 - M) ⊙ x)) ||²``
with ``M`` the binary mask of the dropped region. Here it is normalised per hidden
pixel and channel (a mean, comparable across region sizes), and the paper's adversarial
term is not used; ``context_weight`` optionally adds the error on the visible pixels.
"""

from __future__ import annotations

import keras
from keras import ops

from kssl.checks import check_number


def _masked_mse(squared, weight, channels):
    total = ops.sum(ops.reshape(squared * weight, (ops.shape(squared)[0], -1)), axis=-1)
    count = ops.sum(ops.reshape(weight, (ops.shape(weight)[0], -1)), axis=-1) * channels
    return total / ops.maximum(count, 1.0)


def inpainting_loss(target, reconstruction, mask, context_weight: float = 0.0):
    """Per-sample loss (N,): the MSE over the hidden pixels plus ``context_weight`` times the MSE over the rest.

    ``target`` and ``reconstruction``: (N, H, W, C) images; ``mask``: (N, H, W, 1), 1 on
    hidden pixels and 0 on the context. Each mean squared error is taken over the pixels
    of its region and every channel (a sample with no pixel in a region adds 0 for it).
    """
    target = ops.cast(target, "float32")
    reconstruction = ops.cast(reconstruction, "float32")
    mask = ops.cast(mask, "float32") + ops.zeros_like(target[..., :1])
    squared = ops.square(target - reconstruction)
    channels = ops.cast(ops.shape(target)[-1], "float32")
    hidden = _masked_mse(squared, mask, channels)
    if not context_weight:
        return hidden
    return hidden + context_weight * _masked_mse(squared, 1.0 - mask, channels)


@keras.saving.register_keras_serializable(package="kssl_inpainting")
class InpaintingLoss(keras.losses.Loss):
    """:func:`inpainting_loss` as a Keras loss: ``loss((target, mask), reconstruction)``.

    With the default ``sum_over_batch_size`` reduction the result is the batch mean of the
    per-sample losses (Pathak et al., CVPR 2016, eq. 1, without the adversarial term).

    Args:
        context_weight: weight (>= 0) of the mean squared error over the visible pixels.
    """

    def __init__(self, context_weight: float = 0.0, name: str = "inpainting_loss", reduction="sum_over_batch_size"):
        super().__init__(name=name, reduction=reduction)
        self.context_weight = check_number("context_weight", context_weight, low=0.0)

    def call(self, y_true, y_pred):
        target, mask = y_true
        return inpainting_loss(target, y_pred, mask, self.context_weight)

    def get_config(self):
        return {**super().get_config(), "context_weight": self.context_weight}
