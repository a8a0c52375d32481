"""The Barlow Twins redundancy-reduction loss.

Zbontar, Jing, Misra, LeCun, Deny, "Barlow Twins: Self-Supervised Learning via
Redundancy Reduction", ICML 2021 (arXiv:2103.03230), eq. (1) and (2).
"""

from __future__ import annotations

import keras
from keras import ops

from kssl.losses.cross_replica import all_gather


def cross_correlation(z1, z2, epsilon: float = 1e-5):
    """The (D, D) cross-correlation matrix of two batches of embeddings (N, D), eq. (2).

    Each feature of ``z1`` and of ``z2`` is standardised along the batch, in float32:
    mean 0 and ``(z - mean) / sqrt(var + epsilon)`` with the population variance
    (what a batch-norm layer without scale and offset does while training). Then
    ``C = z1n^T z2n / N``, so ``C[i, j]`` is the correlation of feature ``i`` of the
    first views with feature ``j`` of the second views, in [-1, 1].
    """
    z1 = ops.cast(z1, "float32")
    z2 = ops.cast(z2, "float32")
    n = ops.cast(ops.shape(z1)[0], "float32")

    def standardise(z):
        mean = ops.mean(z, axis=0, keepdims=True)
        variance = ops.mean(ops.square(z - mean), axis=0, keepdims=True)
        return (z - mean) / ops.sqrt(variance + epsilon)

    return ops.matmul(ops.transpose(standardise(z1)), standardise(z2)) / n


def barlow_twins_loss(z1, z2, lambda_: float = 5e-3, epsilon: float = 1e-5):
    """``sum_i (1 - C_ii)^2 + lambda_ * sum_{i != j} C_ij^2``, a scalar, eq. (1).

    ``C`` is :func:`cross_correlation` of the two views' embeddings ``z1`` and ``z2``
    (N, D), ``z1[k]`` and ``z2[k]`` being two views of sample ``k``. The invariance
    term pulls each feature's correlation across views to 1; the redundancy-reduction
    term, weighted by ``lambda_``, pushes the correlation of different features to 0.
    Being a statistic of the batch, it must see the whole global batch
    (:class:`BarlowTwinsLoss` gathers it under ``tf.distribute``).
    """
    c = cross_correlation(z1, z2, epsilon)
    diagonal = ops.diagonal(c)
    on_diagonal = ops.sum(ops.square(1.0 - diagonal))
    off_diagonal = ops.sum(ops.square(c)) - ops.sum(ops.square(diagonal))
    return on_diagonal + lambda_ * off_diagonal


@keras.saving.register_keras_serializable(package="kssl")
class BarlowTwinsLoss(keras.losses.Loss):
    """:func:`barlow_twins_loss` as a Keras loss: ``loss(z1, z2)`` with the two views' embeddings.

    Under a ``tf.distribute`` strategy each replica gathers every replica's
    embeddings (:func:`kssl.losses.cross_replica.all_gather`) and computes the loss
    of the whole global batch. It is returned with shape (1,) because Keras passes a
    0-d loss through its reduction unchanged, without the ``1 / replicas`` scaling;
    with shape (1,) the ``sum_over_batch_size`` reduction gives the loss itself, scaled
    by ``1 / replicas``, so loss and gradients equal the 1-device step on the same
    global batch.
    """

    def __init__(self, lambda_: float = 5e-3, epsilon: float = 1e-5, name: str = "barlow_twins", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.lambda_ = lambda_
        self.epsilon = epsilon

    def call(self, z1, z2):
        loss = barlow_twins_loss(all_gather(z1), all_gather(z2), self.lambda_, self.epsilon)
        return ops.reshape(loss, (1,))

    def get_config(self):
        config = super().get_config()
        config.update(lambda_=self.lambda_, epsilon=self.epsilon)
        return config
