"""SwAV's swapped-prediction loss.

Caron, Misra, Mairal, Goyal, Bojanowski, Joulin, "Unsupervised Learning of
Visual Features by Contrasting Cluster Assignments", NeurIPS 2020
(arXiv:2006.09882), eq. (1)-(2): the code of one view is predicted from the
prototype scores of every other view.
"""

from __future__ import annotations

import keras
from keras import ops


def swapped_prediction(codes, scores, temperature: float = 0.1):
    """Per-sample SwAV loss, shape (B,).

    Args:
        codes: (B, A, K) targets: the Sinkhorn codes of the first A views
            (see :func:`kssl.losses.sinkhorn.sinkhorn`); treated as constants.
        scores: (B, V, K) prototype scores (cosine similarities) of all V >= 2
            views; views ``0..A-1`` are the ones the codes were computed from.
        temperature: softmax temperature τ of the predictions.

    For every code view ``a`` and every other view ``v != a`` the term is the
    cross-entropy ``-sum_k q_a[k] log softmax(s_v / τ)[k]``; the result is the
    mean over the ``A * (V - 1)`` terms, as in the paper's multi-crop loss.
    """
    codes = ops.stop_gradient(ops.cast(codes, "float32"))
    scores = ops.cast(scores, "float32")
    n_codes, n_views = codes.shape[1], scores.shape[1]
    if n_codes is None or n_views is None:
        raise ValueError("swapped_prediction needs a static number of views (axis 1 of codes and scores).")
    if n_views < 2 or n_codes < 1 or n_codes > n_views:
        raise ValueError(f"swapped_prediction needs 1 <= code views <= views and >= 2 views, got {n_codes} and {n_views}.")
    log_p = ops.log_softmax(scores / temperature, axis=-1)
    total = 0.0
    for a in range(n_codes):
        for v in range(n_views):
            if v != a:
                total = total - ops.sum(codes[:, a] * log_p[:, v], axis=-1)
    return total / float(n_codes * (n_views - 1))


@keras.saving.register_keras_serializable(package="kssl")
class SwAVLoss(keras.losses.Loss):
    """SwAV's swapped prediction as a Keras loss: ``loss(codes, scores)``.

    ``codes`` (B, A, K) play the role of ``y_true``; ``scores`` (B, V, K) of
    ``y_pred``. Going through ``keras.losses.Loss`` gives the batch mean and the
    per-replica scaling Keras applies under a distribution strategy.
    """

    def __init__(self, temperature: float = 0.1, name: str = "swav", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.temperature = temperature

    def call(self, codes, scores):
        return swapped_prediction(codes, scores, self.temperature)

    def get_config(self):
        config = super().get_config()
        config["temperature"] = self.temperature
        return config
