"""The MoCo InfoNCE loss against a queue of negative keys, and the queue's FIFO update.

He, Fan, Wu, Xie, Girshick, "Momentum Contrast for Unsupervised Visual Representation
Learning", CVPR 2020 (arXiv:1911.05722), eq. (1) and Algorithm 1; MoCo v2: Chen, Fan,
Girshick, He, "Improved Baselines with Momentum Contrastive Learning", arXiv:2003.04297.
"""

from __future__ import annotations

import keras
from keras import ops

from kssl.losses.cross_replica import all_gather
from kssl.losses.l2_normalize import l2_normalize as unit_rows


def l2_normalize(x):
    """Rows of ``x`` scaled to unit L2 norm, in float32 (:func:`kssl.losses.l2_normalize.l2_normalize`)."""
    return unit_rows(ops.cast(x, "float32"))


def moco_logits(q, k, queue, temperature: float = 0.2):
    """The (N, 1 + K) logits of Algorithm 1: ``[q_i · k_i, q_i · queue_1, ..., q_i · queue_K] / τ``.

    ``q`` (N, D) are the queries, ``k`` (N, D) their positive keys from the momentum encoder,
    ``queue`` (K, D) the negative keys of earlier batches. Queries and keys are L2-normalised
    (in float32; the queue holds normalised keys already); the gradient of ``k`` and of the
    queue is stopped. Every sample's positive is column 0.
    """
    q = l2_normalize(q)
    k = ops.stop_gradient(l2_normalize(k))
    positive = ops.sum(q * k, axis=1, keepdims=True)
    negative = ops.matmul(q, ops.transpose(ops.stop_gradient(ops.cast(queue, "float32"))))
    return ops.concatenate([positive, negative], axis=1) / temperature


def moco_loss(q, k, queue, temperature: float = 0.2):
    """Per-sample InfoNCE ``-log(exp(q·k+/τ) / (exp(q·k+/τ) + Σ_queue exp(q·k-/τ)))``, shape (N,), eq. (1)."""
    logits = moco_logits(q, k, queue, temperature)
    labels = ops.zeros((ops.shape(logits)[0],), dtype="int32")
    return keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)


def enqueue(queue, pointer, keys):
    """The queue after a FIFO update with ``keys`` (B, D), and the new pointer: ``(queue', pointer')``.

    Row ``(pointer + i) mod K`` of ``queue`` (K, D) becomes the L2-normalised ``keys[i]``
    (the oldest keys are replaced) and the pointer moves to ``(pointer + B) mod K``. Under
    several replicas pass the keys of the *global* batch (:func:`kssl.losses.cross_replica.all_gather`),
    in replica order, so every replica holds the queue of the 1-device run.
    """
    size = ops.shape(queue)[0]
    rows = ops.shape(keys)[0]
    indices = ops.mod(ops.cast(pointer, "int32") + ops.arange(rows, dtype="int32"), size)
    new_queue = ops.scatter_update(queue, ops.expand_dims(indices, 1), ops.cast(ops.stop_gradient(l2_normalize(keys)), queue.dtype))
    new_pointer = ops.mod(ops.cast(pointer, "int32") + rows, size)
    return new_queue, new_pointer


@keras.saving.register_keras_serializable(package="kssl")
class MoCoLoss(keras.losses.Loss):
    """:func:`moco_loss` as a Keras loss: ``loss((keys, queue), queries)``, the mean over the global batch.

    The loss of a query depends on its own key and the queue only, but it is computed on the
    gathered global batch (:func:`kssl.losses.cross_replica.all_gather`) like every kssl loss, and
    ``keras.losses.Loss`` scales it by ``1 / replicas``: loss and gradients equal the 1-device step.
    """

    def __init__(self, temperature: float = 0.2, name: str = "moco", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.temperature = temperature

    def call(self, y_true, y_pred):
        keys, queue = y_true
        return moco_loss(all_gather(y_pred), all_gather(keys), queue, self.temperature)

    def get_config(self):
        config = super().get_config()
        config["temperature"] = self.temperature
        return config
