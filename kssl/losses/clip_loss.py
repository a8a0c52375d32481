"""CLIP's symmetric InfoNCE loss over image-text pairs.

Radford, Kim, Hallacy, Ramesh, Goh, Agarwal, Sastry, Askell, Mishkin, Clark, Krueger, Sutskever,
"Learning Transferable Visual Models From Natural Language Supervision", ICML 2021
(arXiv:2103.00020), Figure 3: cross-entropy over the image-to-text and the text-to-image rows of
the scaled cosine-similarity matrix, averaged; the scale is ``exp(t)`` for a learned ``t``.
"""

from __future__ import annotations

import keras
from keras import ops

from kssl.losses.l2_normalize import l2_normalize


def pair_logits(image_embeddings, text_embeddings, logit_scale, logit_bias=None):
    """``exp(logit_scale) * cos(image_i, text_j)`` (+ ``logit_bias``): the (N, M) logits of CLIP and SigLIP.

    Rows are L2-normalised in float32; ``logit_scale`` is the log of the multiplier (CLIP's ``t``).
    """
    images = l2_normalize(ops.cast(image_embeddings, "float32"), axis=1)
    texts = l2_normalize(ops.cast(text_embeddings, "float32"), axis=1)
    logits = ops.exp(ops.cast(logit_scale, "float32")) * ops.matmul(images, ops.transpose(texts))
    if logit_bias is not None:
        logits = logits + ops.cast(logit_bias, "float32")
    return logits


def symmetric_cross_entropy(logits):
    """Per-pair loss (N,) of square logits whose diagonal holds the matching pairs: the mean of the row's
    (image -> text) and the column's (text -> image) softmax cross-entropy."""
    positives = ops.arange(ops.shape(logits)[0])
    image_to_text = keras.losses.sparse_categorical_crossentropy(positives, logits, from_logits=True)
    text_to_image = keras.losses.sparse_categorical_crossentropy(positives, ops.transpose(logits), from_logits=True)
    return 0.5 * (image_to_text + text_to_image)


def clip_loss(image_embeddings, text_embeddings, logit_scale):
    """Per-pair CLIP loss (N,) of a batch where ``image_embeddings[i]`` and ``text_embeddings[i]`` match; every other
    text (image) of the batch is a negative. The batch mean is the paper's loss."""
    return symmetric_cross_entropy(pair_logits(image_embeddings, text_embeddings, logit_scale))


@keras.saving.register_keras_serializable(package="kssl")
class CLIPLoss(keras.losses.Loss):
    """CLIP's loss as a Keras loss of the logits: ``loss(y_true, logits)`` with ``logits`` from :func:`pair_logits`.

    ``y_true`` is ignored (the matching pairs are the diagonal; pass e.g. ``ops.arange(N)``). The
    logits must be those of the global batch: under a ``tf.distribute`` strategy gather the
    embeddings of every replica first (:func:`kssl.losses.cross_replica.all_gather`), so every
    replica scores all N pairs; the ``1 / replicas`` scaling of ``keras.losses.Loss`` then makes
    loss and gradients equal to the 1-device step on the same global batch.
    """

    def __init__(self, name: str = "clip", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return symmetric_cross_entropy(y_pred)
