"""The SimSiam loss: symmetrised negative cosine similarity with a stop-gradient on the projection.

Chen, He, "Exploring Simple Siamese Representation Learning", CVPR 2021 (arXiv:2011.10566),
Algorithm 1 and eq. (1)-(3).
"""

from __future__ import annotations

import keras
from keras import ops

from kssl.losses.l2_normalize import l2_normalize


def negative_cosine(p, z):
    """Per-sample ``D(p, z) = -cos(p, stopgrad(z))``, shape (N,), in [-1, 1], eq. (1) and (3).

    ``p`` is the predictor's output for one view, ``z`` the projection of the other view;
    ``z``'s gradient is stopped here, which is what keeps SimSiam from collapsing. Both are
    L2-normalised (in float32) first.
    """
    p = ops.cast(p, "float32")
    z = ops.stop_gradient(ops.cast(z, "float32"))
    p = l2_normalize(p)
    z = l2_normalize(z)
    return -ops.sum(p * z, axis=-1)


def simsiam_loss(p1, p2, z1, z2):
    """Per-sample symmetrised loss ``D(p1, z2) / 2 + D(p2, z1) / 2``, shape (N,), eq. (2)-(3); minimum -1.

    ``p1, p2`` are the predictions of views 1 and 2, ``z1, z2`` their projections. Nothing
    depends on other samples of the batch, so no cross-replica gather is needed.
    """
    return 0.5 * negative_cosine(p1, z2) + 0.5 * negative_cosine(p2, z1)


@keras.saving.register_keras_serializable(package="kssl")
class SimSiamLoss(keras.losses.Loss):
    """:func:`simsiam_loss` as a Keras loss: ``loss((z1, z2), (p1, p2))``, the mean over the batch.

    Going through ``keras.losses.Loss`` gives the per-replica scaling Keras applies under a
    distribution strategy (the loss is per sample, so each replica's mean is exact).
    """

    def __init__(self, name: str = "simsiam", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        (z1, z2), (p1, p2) = y_true, y_pred
        return simsiam_loss(p1, p2, z1, z2)
