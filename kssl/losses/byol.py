"""The BYOL regression loss between the online prediction and the target projection.

Grill et al., "Bootstrap Your Own Latent: A New Approach to Self-Supervised
Learning", NeurIPS 2020 (arXiv:2006.07733), eq. (2).
"""

from __future__ import annotations

import keras
from keras import ops

from kssl.losses.l2_normalize import l2_normalize


def byol_loss(target, prediction):
    """Per-sample ``||q/||q|| - z/||z||||^2 = 2 - 2 cos(q, z)``, shape (N,).

    ``prediction`` is the online network's prediction q of one view, ``target``
    the target network's projection z of the other view (treat it as a constant:
    stop its gradient before calling). Both are L2-normalised first.
    """
    q = ops.cast(prediction, "float32")
    z = ops.cast(target, "float32")
    q = l2_normalize(q)
    z = l2_normalize(z)
    return 2.0 - 2.0 * ops.sum(q * z, axis=-1)


@keras.saving.register_keras_serializable(package="kssl")
class BYOLLoss(keras.losses.Loss):
    """:func:`byol_loss` as a Keras loss: ``loss(target_projection, online_prediction)``.

    The mean over the batch; going through ``keras.losses.Loss`` gives the
    per-replica scaling Keras applies under a distribution strategy.
    """

    def __init__(self, name: str = "byol", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return byol_loss(y_true, y_pred)
