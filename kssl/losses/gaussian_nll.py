"""Negative log-density of data under an isotropic (or diagonal) Gaussian decoder.

Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014 (arXiv:1312.6114),
Appendix C.2: ``log p(x|z) = log N(x; mu, sigma^2 I)``.
"""

from __future__ import annotations

import math

import keras
from keras import ops

_LOG_2PI = math.log(2.0 * math.pi)


def gaussian_nll(x, mean, log_scale):
    """Per-sample ``-log N(x; mean, exp(log_scale)^2)`` in nats, summed over every non-batch axis; shape (N,).

    ``log_scale`` is the log standard deviation, broadcastable to ``x`` (a scalar
    for an isotropic decoder). A density, not a mass: the value depends on how the
    data are scaled, and it can be negative.
    """
    x = ops.cast(x, "float32")
    mean = ops.cast(mean, "float32")
    log_scale = ops.cast(log_scale, "float32")
    z = (x - mean) * ops.exp(-log_scale)
    per_element = 0.5 * ops.square(z) + log_scale + 0.5 * _LOG_2PI
    per_element = per_element + ops.zeros_like(x)  # broadcast a scalar log_scale over every element
    return ops.sum(ops.reshape(per_element, (ops.shape(per_element)[0], -1)), axis=-1)


@keras.saving.register_keras_serializable(package="kssl")
class GaussianNLLLoss(keras.losses.Loss):
    """The VAE's Gaussian reconstruction term as a Keras loss: ``loss(x, (mean, log_scale))``, nats per sample.

    ``y_pred`` is the pair (decoder mean, log standard deviation); with the default
    ``sum_over_batch_size`` reduction the result is the batch mean of
    :func:`gaussian_nll` (Kingma & Welling, ICLR 2014, Appendix C.2).
    """

    def __init__(self, name: str = "gaussian_nll", reduction="sum_over_batch_size"):
        super().__init__(name=name, reduction=reduction)

    def call(self, x, y_pred):
        mean, log_scale = y_pred
        return gaussian_nll(x, mean, log_scale)
