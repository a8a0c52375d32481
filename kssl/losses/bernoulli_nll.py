"""Negative log-likelihood of images under independent Bernoulli pixels (the VAE's decoder on [0, 1] data).

Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014 (arXiv:1312.6114),
Appendix C.1: ``log p(x|z) = sum_i x_i log y_i + (1 - x_i) log(1 - y_i)``.
"""

from __future__ import annotations

import keras
from keras import ops


def bernoulli_nll(x, logits):
    """Per-sample ``-log p(x | logits)`` in nats, summed over every non-batch axis; shape (N,).

    ``logits`` are the decoder's pre-sigmoid outputs, ``x`` the targets. For binary
    ``x`` this is the exact negative log-mass. For grey values in [0, 1] it is the
    binary cross-entropy with soft targets, which equals the *expected* negative
    log-mass of the stochastically binarised image (each pixel on with probability
    ``x_i``): the loss is linear in ``x``. Written in the stable form
    ``max(l, 0) - x l + log(1 + exp(-|l|))``.
    """
    x = ops.cast(x, "float32")
    logits = ops.cast(logits, "float32")
    per_element = ops.relu(logits) - x * logits + ops.log1p(ops.exp(-ops.abs(logits)))
    return ops.sum(ops.reshape(per_element, (ops.shape(per_element)[0], -1)), axis=-1)


@keras.saving.register_keras_serializable(package="kssl")
class BernoulliNLLLoss(keras.losses.Loss):
    """The VAE's Bernoulli reconstruction term as a Keras loss: ``loss(x, logits)``, nats per sample.

    With the default ``sum_over_batch_size`` reduction the result is the batch mean
    of :func:`bernoulli_nll` (Kingma & Welling, ICLR 2014, Appendix C.1).
    """

    def __init__(self, name: str = "bernoulli_nll", reduction="sum_over_batch_size"):
        super().__init__(name=name, reduction=reduction)

    def call(self, x, logits):
        return bernoulli_nll(x, logits)
