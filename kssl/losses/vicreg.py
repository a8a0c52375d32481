"""The VICReg loss: invariance, variance and covariance regularisation of two views' embeddings.

Bardes, Ponce, LeCun, "VICReg: Variance-Invariance-Covariance Regularization for
Self-Supervised Learning", ICLR 2022 (arXiv:2105.04906), section 3 and Algorithm 1.
"""

from __future__ import annotations

import keras
from keras import ops

from kssl.losses.cross_replica import all_gather


def vicreg_terms(z1, z2, gamma: float = 1.0, epsilon: float = 1e-4):
    """The (invariance, variance, covariance) terms of two views' embeddings ``z1``, ``z2`` (N, D), in float32.

    - invariance ``s``: the mean squared difference ``mean((z1 - z2)^2)`` over all N x D entries;
    - variance ``v``: per view, ``mean_j max(0, gamma - sqrt(Var(z[:, j]) + epsilon))`` with the
      unbiased variance over the batch; the two views' values are averaged (the released code's
      ``std_loss / 2 + std_loss / 2``);
    - covariance ``c``: per view, the sum of the squared off-diagonal entries of the (D, D) covariance
      matrix (divided by ``N - 1``), divided by D; the two views' values are summed (as in the released code).

    The variance and covariance are statistics of the batch: they must see the whole global batch
    (:class:`VICRegLoss` gathers it under ``tf.distribute``).
    """
    z1 = ops.cast(z1, "float32")
    z2 = ops.cast(z2, "float32")
    n = ops.cast(ops.shape(z1)[0], "float32")
    d = ops.shape(z1)[1]
    invariance = ops.mean(ops.square(z1 - z2))
    variance = 0.0
    covariance = 0.0
    for z in (z1, z2):
        centred = z - ops.mean(z, axis=0, keepdims=True)
        cov = ops.matmul(ops.transpose(centred), centred) / (n - 1.0)
        diagonal = ops.diagonal(cov)
        variance = variance + 0.5 * ops.mean(ops.relu(gamma - ops.sqrt(diagonal + epsilon)))
        covariance = covariance + (ops.sum(ops.square(cov)) - ops.sum(ops.square(diagonal))) / ops.cast(d, "float32")
    return invariance, variance, covariance


def vicreg_loss(
    z1, z2, invariance_weight: float = 25.0, variance_weight: float = 25.0, covariance_weight: float = 1.0, gamma: float = 1.0, epsilon: float = 1e-4
):
    """``λ s(z1, z2) + μ v + ν c``, a scalar (eq. 6; the paper's λ = μ = 25, ν = 1); terms as in :func:`vicreg_terms`."""
    invariance, variance, covariance = vicreg_terms(z1, z2, gamma, epsilon)
    return invariance_weight * invariance + variance_weight * variance + covariance_weight * covariance


@keras.saving.register_keras_serializable(package="kssl")
class VICRegLoss(keras.losses.Loss):
    """:func:`vicreg_loss` as a Keras loss: ``loss(z1, z2)`` with the two views' embeddings.

    Under a ``tf.distribute`` strategy each replica gathers every replica's embeddings
    (:func:`kssl.losses.cross_replica.all_gather`) and computes the loss of the whole global
    batch, returned with shape (1,) so that Keras scales it by ``1 / replicas`` (see
    :class:`kssl.losses.barlow_twins.BarlowTwinsLoss`): loss and gradients equal the 1-device step.
    """

    def __init__(
        self,
        invariance_weight: float = 25.0,
        variance_weight: float = 25.0,
        covariance_weight: float = 1.0,
        gamma: float = 1.0,
        epsilon: float = 1e-4,
        name: str = "vicreg",
        reduction="sum_over_batch_size",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.invariance_weight = invariance_weight
        self.variance_weight = variance_weight
        self.covariance_weight = covariance_weight
        self.gamma = gamma
        self.epsilon = epsilon

    def call(self, z1, z2):
        weights = (self.invariance_weight, self.variance_weight, self.covariance_weight)
        loss = vicreg_loss(all_gather(z1), all_gather(z2), *weights, self.gamma, self.epsilon)
        return ops.reshape(loss, (1,))

    def get_config(self):
        config = super().get_config()
        config.update(
            invariance_weight=self.invariance_weight,
            variance_weight=self.variance_weight,
            covariance_weight=self.covariance_weight,
            gamma=self.gamma,
            epsilon=self.epsilon,
        )
        return config
