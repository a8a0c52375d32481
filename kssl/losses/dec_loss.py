"""Deep Embedded Clustering: Student-t soft assignments, the target distribution, and the KL loss.

Xie, Girshick, Farhadi, "Unsupervised Deep Embedding for Clustering Analysis",
ICML 2016 (arXiv:1511.06335), eq. (1)-(3).
"""

from __future__ import annotations

import keras
from keras import ops


def student_t_assignment(z, centroids, alpha: float = 1.0):
    """Soft assignments ``q`` (N, K) of embeddings ``z`` (N, D) to ``centroids`` (K, D), eq. (1).

    ``q_ij ∝ (1 + ||z_i - mu_j||^2 / alpha) ^ (-(alpha + 1) / 2)``, normalised over
    the clusters ``j``: a Student's t kernel with ``alpha`` degrees of freedom.
    """
    z = ops.cast(z, "float32")
    centroids = ops.cast(centroids, "float32")
    sq = ops.sum(ops.square(ops.expand_dims(z, 1) - ops.expand_dims(centroids, 0)), axis=-1)
    kernel = ops.power(1.0 + sq / alpha, -(alpha + 1.0) / 2.0)
    return kernel / ops.sum(kernel, axis=1, keepdims=True)


def target_distribution(q):
    """DEC's auxiliary target ``p`` (N, K) from soft assignments ``q``, eq. (3).

    ``p_ij ∝ q_ij^2 / f_j`` normalised over ``j``, with soft cluster frequencies
    ``f_j = sum_i q_ij`` over the samples given: squaring sharpens confident
    assignments and dividing by ``f_j`` keeps large clusters from taking over.
    """
    q = ops.cast(q, "float32")
    weight = ops.square(q) / ops.sum(q, axis=0, keepdims=True)
    return weight / ops.sum(weight, axis=1, keepdims=True)


def dec_kl(p, q, epsilon: float = 1e-10):
    """Per-sample ``KL(p_i || q_i) = sum_j p_ij log(p_ij / q_ij)``, shape (N,), eq. (2)."""
    p = ops.cast(p, "float32")
    q = ops.cast(q, "float32")
    return ops.sum(p * (ops.log(ops.maximum(p, epsilon)) - ops.log(ops.maximum(q, epsilon))), axis=-1)


@keras.saving.register_keras_serializable(package="kssl")
class DECLoss(keras.losses.Loss):
    """DEC's clustering loss ``KL(P || Q)`` as a Keras loss: ``loss(p, q)``.

    ``p`` (the target distribution, held fixed between updates) is ``y_true``;
    ``q`` (the model's Student-t assignments) is ``y_pred``. The batch mean of
    the per-sample KL is the paper's loss divided by the batch size.
    """

    def __init__(self, name: str = "dec_kl", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, p, q):
        return dec_kl(ops.stop_gradient(p), q)
