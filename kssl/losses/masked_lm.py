"""The masked-language-modelling loss of BERT.

Devlin, Chang, Lee, Toutanova, "BERT: Pre-training of Deep Bidirectional
Transformers for Language Understanding", NAACL 2019 (arXiv:1810.04805), §3.1
"Task #1: Masked LM": the cross-entropy of the original token at each selected
position, and only there.
"""

from __future__ import annotations

import keras
from keras import ops


def masked_lm_loss(labels, logits, weights):
    """Mean cross-entropy over the masked positions: ``sum(w * ce) / sum(w)``.

    ``labels`` (N, M) are the original token ids at the M selected positions of
    each sequence, ``logits`` (N, M, V) the predictions there and ``weights``
    (N, M) 1 for a real masked position, 0 for padding of the position list. A
    position of weight 0 contributes nothing to the loss or its gradient.
    """
    logits = ops.cast(logits, "float32")
    weights = ops.cast(weights, "float32")
    ce = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    return ops.sum(ce * weights) / ops.maximum(ops.sum(weights), 1.0)


@keras.saving.register_keras_serializable(package="kssl")
class MaskedLMLoss(keras.losses.Loss):
    """BERT's masked-LM loss as a Keras loss: ``loss(labels, logits, sample_weight=weights)``.

    The per-position cross-entropy is reduced with ``mean_with_sample_weight``,
    i.e. :func:`masked_lm_loss`: the mean over the masked positions only. Logits
    are cast to float32 under mixed precision.
    """

    def __init__(self, name: str = "masked_lm", reduction="mean_with_sample_weight", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return keras.losses.sparse_categorical_crossentropy(y_true, ops.cast(y_pred, "float32"), from_logits=True)
