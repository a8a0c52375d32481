"""SigLIP's pairwise sigmoid loss over image-text pairs.

Zhai, Mustafa, Kolesnikov, Beyer, "Sigmoid Loss for Language Image Pre-Training", ICCV 2023
(arXiv:2303.15343), Algorithm 1: every image-text pair of the batch is a binary classification,
positive on the diagonal and negative elsewhere, with logits ``exp(t) * cos + b`` for a learned
``t`` and bias ``b``; the sum over all N^2 pairs is divided by N. keras-hub's ``SigLIPLoss``
computes the same from the logits and a +-1 matrix.
"""

from __future__ import annotations

import keras
from keras import ops

from kssl.losses.clip_loss import pair_logits


def pair_signs(n):
    """The (n, n) labels of SigLIP: +1 on the diagonal (matching pairs), -1 elsewhere."""
    return 2.0 * ops.eye(n, dtype="float32") - 1.0


def sigmoid_pair_loss(logits):
    """Per-image loss (N,) of square logits whose diagonal holds the matching pairs: ``-sum_j log sigmoid(z_ij * logit_ij)``."""
    signs = pair_signs(ops.shape(logits)[0])
    return -ops.sum(ops.log_sigmoid(signs * ops.cast(logits, "float32")), axis=1)


def siglip_loss(image_embeddings, text_embeddings, logit_scale, logit_bias):
    """Per-image SigLIP loss (N,); its batch mean is the paper's loss (the sum over all pairs divided by N)."""
    return sigmoid_pair_loss(pair_logits(image_embeddings, text_embeddings, logit_scale, logit_bias))


@keras.saving.register_keras_serializable(package="kssl")
class SigLIPLoss(keras.losses.Loss):
    """SigLIP's loss as a Keras loss of the logits: ``loss(y_true, logits)`` with ``logits`` from
    :func:`kssl.losses.clip_loss.pair_logits` (with the bias).

    ``y_true`` is ignored (the matching pairs are the diagonal). The sigmoid loss needs no
    normalisation over the batch, but its negatives are the other pairs of the global batch: under
    ``tf.distribute`` gather the embeddings of every replica first
    (:func:`kssl.losses.cross_replica.all_gather`); the ``1 / replicas`` scaling of
    ``keras.losses.Loss`` then gives the 1-device loss and gradients.
    """

    def __init__(self, name: str = "siglip", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return sigmoid_pair_loss(y_pred)
