"""The MoCo v3 contrastive loss: in-batch InfoNCE of queries against momentum keys, scaled by ``2 τ``.

Chen, Xie, He, "An Empirical Study of Training Self-Supervised Vision Transformers",
ICCV 2021 (arXiv:2104.02057), Algorithm 1 (``ctr``) and section 3.
"""

from __future__ import annotations

import keras
from keras import ops

from kssl.losses.cross_replica import all_gather
from kssl.losses.l2_normalize import l2_normalize


def moco_v3_logits(q, k, temperature: float = 0.2):
    """The (N, N) logits ``q_i · k_j / τ`` of L2-normalised rows (in float32); sample ``i``'s positive is column ``i``.

    ``k`` (the momentum encoder's keys) is treated as a constant: its gradient is stopped here.
    """
    q = ops.cast(q, "float32")
    k = ops.stop_gradient(ops.cast(k, "float32"))
    q = l2_normalize(q, axis=1)
    k = l2_normalize(k, axis=1)
    return ops.matmul(q, ops.transpose(k)) / temperature


def moco_v3_contrastive(q, k, temperature: float = 0.2):
    """Per-sample ``ctr(q, k) = 2 τ · CE(q k^T / τ, i)``, shape (N,) (Algorithm 1).

    ``q[i]`` is the online network's prediction of a view of sample ``i``, ``k[i]`` the
    momentum network's projection of the *other* view of sample ``i``; the other ``N - 1``
    keys of the batch are the negatives. The ``2 τ`` factor makes the gradient scale
    independent of τ, as in the paper. The full MoCo v3 loss is the symmetrised
    ``ctr(q1, k2) + ctr(q2, k1)``.
    """
    logits = moco_v3_logits(q, k, temperature)
    labels = ops.arange(ops.shape(logits)[0])
    return 2.0 * temperature * keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)


@keras.saving.register_keras_serializable(package="kssl")
class MoCoV3Loss(keras.losses.Loss):
    """:func:`moco_v3_contrastive` as a Keras loss: ``loss(keys, queries)``, the mean over the global batch.

    The negatives are the keys of the whole global batch: under a ``tf.distribute``
    strategy each replica gathers every replica's queries and keys
    (:func:`kssl.losses.cross_replica.all_gather`) and scores all of them; going through
    ``keras.losses.Loss`` then scales the result by ``1 / replicas``, so loss and
    gradients equal the 1-device step on the same global batch.
    """

    def __init__(self, temperature: float = 0.2, name: str = "moco_v3", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.temperature = temperature

    def call(self, y_true, y_pred):
        return moco_v3_contrastive(all_gather(y_pred), all_gather(y_true), self.temperature)

    def get_config(self):
        config = super().get_config()
        config["temperature"] = self.temperature
        return config
