"""NT-Xent, the normalised temperature-scaled cross-entropy of SimCLR.

Chen, Kornblith, Norouzi, Hinton, "A Simple Framework for Contrastive Learning
of Visual Representations", ICML 2020 (arXiv:2002.05709), eq. (1).
"""

from __future__ import annotations

import keras
from keras import ops

from kssl.losses.cross_replica import all_gather
from kssl.losses.l2_normalize import l2_normalize


def nt_xent_logits(z1, z2, temperature: float = 0.1):
    """The (2N, 2N) similarity logits of NT-Xent and each anchor's positive, shape (2N,).

    Rows of ``concat([z1, z2])`` are L2-normalised (in float32) and their cosine
    similarities divided by ``temperature``; an anchor's own column is pushed to
    -1e9 so it is never its own candidate. Anchor ``i`` (a view in ``z1``) has its
    positive at ``N + i`` and anchor ``N + i`` at ``i``.
    """
    z = ops.cast(ops.concatenate([z1, z2], axis=0), "float32")
    z = l2_normalize(z, axis=1)
    n2 = ops.shape(z)[0]
    n = n2 // 2
    logits = ops.matmul(z, ops.transpose(z)) / temperature
    logits = logits - ops.eye(n2, dtype=logits.dtype) * 1e9
    positives = ops.concatenate([ops.arange(n, n2), ops.arange(0, n)], axis=0)
    return logits, positives


def nt_xent(z1, z2, temperature: float = 0.1):
    """Per-sample NT-Xent loss of two batches of projections, shape (2N,).

    ``z1[i]`` and ``z2[i]`` are two views of sample ``i``; every other one of the
    2N projections is a negative. Rows are L2-normalised, similarities divided
    by ``temperature``, and each of the 2N anchors is scored with a softmax
    cross-entropy over its 2N-1 candidates. The batch mean is the paper's loss.
    """
    logits, positives = nt_xent_logits(z1, z2, temperature)
    return keras.losses.sparse_categorical_crossentropy(positives, logits, from_logits=True)


@keras.saving.register_keras_serializable(package="kssl")
class NTXentLoss(keras.losses.Loss):
    """NT-Xent as a Keras loss: ``loss(z1, z2)`` with the two views' projections.

    Negatives come from the whole global batch: under a ``tf.distribute``
    strategy each replica gathers every replica's projections
    (:func:`kssl.losses.cross_replica.all_gather`) and scores all 2N anchors;
    going through ``keras.losses.Loss`` then scales the result by
    ``1 / replicas``, so loss and gradients equal the 1-device step on the same
    global batch. Inputs are cast to float32 (the loss's dtype) under mixed
    precision.
    """

    def __init__(self, temperature: float = 0.1, name: str = "nt_xent", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.temperature = temperature

    def call(self, z1, z2):
        return nt_xent(all_gather(z1), all_gather(z2), self.temperature)

    def get_config(self):
        config = super().get_config()
        config["temperature"] = self.temperature
        return config
