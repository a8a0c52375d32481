"""KL divergence of a diagonal Gaussian posterior from the standard normal prior.

Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014 (arXiv:1312.6114),
Appendix B: ``-KL(q || p) = 1/2 * sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2)``.
"""

from __future__ import annotations

import math

import keras
from keras import ops


def gaussian_kl(mean, log_var):
    """Per-sample ``KL(N(mean, exp(log_var)) || N(0, I))`` in nats, summed over the last axis.

    ``mean`` and ``log_var`` have shape (N, D); returns shape (N,). Computed in
    float32 whatever the input dtype (mixed precision).
    """
    mean = ops.cast(mean, "float32")
    log_var = ops.cast(log_var, "float32")
    return 0.5 * ops.sum(ops.exp(log_var) + ops.square(mean) - 1.0 - log_var, axis=-1)


@keras.saving.register_keras_serializable(package="kssl")
class GaussianKLLoss(keras.losses.Loss):
    """The VAE's KL term as a Keras loss: ``loss(mean, log_var)``, nats per sample.

    The first argument (Keras's ``y_true`` slot) is the posterior mean, the second
    the posterior log-variance; with the default ``sum_over_batch_size`` reduction
    the result is the batch mean of :func:`gaussian_kl` (Kingma & Welling, ICLR 2014).
    """

    def __init__(self, name: str = "gaussian_kl", reduction="sum_over_batch_size"):
        super().__init__(name=name, reduction=reduction)

    def call(self, mean, log_var):
        return gaussian_kl(mean, log_var)


def diagonal_gaussian_log_density(z, mean, log_var):
    """Per-sample ``log N(z; mean, diag(exp(log_var)))`` in nats, summed over the last axis.

    With ``mean = 0`` and ``log_var = 0`` this is the standard normal prior's log
    density; used by the importance-weighted likelihood estimate (Burda et al., ICLR 2016).
    """
    z = ops.cast(z, "float32")
    mean = ops.cast(mean, "float32")
    log_var = ops.cast(log_var, "float32")
    return -0.5 * ops.sum(ops.square(z - mean) * ops.exp(-log_var) + log_var + math.log(2.0 * math.pi), axis=-1)
