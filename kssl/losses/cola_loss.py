"""The COLA loss: which segment of the batch came from the same clip as the anchor?

Saeed, Grangier, Zeghidour, "Contrastive Learning of General-Purpose Audio
Representations", ICASSP 2021 (arXiv:2010.10915), section 2: two segments of one
clip are a positive pair, the segments of every other clip in the batch are
negatives, similarity is bilinear, ``s(a, p) = a^T W p``, and the loss is a
softmax cross-entropy of each anchor over the batch's candidates.
"""

from __future__ import annotations

import keras
from keras import ops

from kssl.losses.cross_replica import all_gather


def cola_logits(anchors, transformed_positives):
    """The (N, N) COLA logits ``anchors @ transformed_positives^T`` and the target of each row, shape (N,).

    ``transformed_positives`` is ``W p`` for every candidate segment ``p`` (the bilinear
    weight already applied, e.g. by a ``Dense`` layer without bias), so logit ``[i, j]`` is
    the bilinear similarity ``a_i^T W p_j``. Anchor ``i``'s positive is candidate ``i``;
    the other N - 1 candidates are its negatives. Computed in float32.
    """
    a = ops.cast(anchors, "float32")
    p = ops.cast(transformed_positives, "float32")
    logits = ops.matmul(a, ops.transpose(p))
    return logits, ops.arange(ops.shape(logits)[0])


def cola_loss(anchors, transformed_positives):
    """Per-anchor COLA loss, shape (N,): softmax cross-entropy of each row of :func:`cola_logits`."""
    logits, targets = cola_logits(anchors, transformed_positives)
    return keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)


@keras.saving.register_keras_serializable(package="kssl")
class COLALoss(keras.losses.Loss):
    """COLA as a Keras loss: ``loss(anchors, transformed_positives)``.

    Negatives come from the whole global batch: under a ``tf.distribute`` strategy each
    replica gathers every replica's anchors and candidates
    (:func:`kssl.losses.cross_replica.all_gather`) and scores all N anchors; going
    through ``keras.losses.Loss`` scales the result by ``1 / replicas``, so loss and
    gradients equal the 1-device step on the same global batch.
    """

    def __init__(self, name: str = "cola", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, anchors, transformed_positives):
        return cola_loss(all_gather(anchors), all_gather(transformed_positives))
