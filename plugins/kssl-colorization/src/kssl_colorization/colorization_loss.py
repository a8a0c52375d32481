"""The colorization loss: cross-entropy against soft-encoded quantised ab colours.

Zhang, Isola, Efros, "Colorful Image Colorization", ECCV 2016 (arXiv:1603.08511), Sec. 2.1, Eq. 2.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kssl.checks import check_int, check_positive
from kssl_colorization.lab import ab_bins


def soft_encode(ab, bin_centres, neighbours: int = 5, sigma: float = 5.0):
    """Soft targets (..., Q) for ab colours (..., 2): Gaussian weights on the ``neighbours`` nearest bins, summing to 1.

    Zhang et al. (2016), Sec. 2.1: "we find the 5-nearest neighbors to Y_{h,w} in the output space and
    weight them proportionally to their distance from the ground truth using a Gaussian kernel with σ = 5".
    Bins tied with the ``neighbours``-th nearest are kept too (a tie is measure-zero for real colours).
    """
    centres = ops.convert_to_tensor(np.asarray(bin_centres, "float32"))
    squared = ops.sum(ops.square(ops.expand_dims(ops.cast(ab, "float32"), -2) - centres), axis=-1)  # (..., Q)
    kth = -ops.top_k(-squared, k=neighbours, sorted=True)[0][..., -1:]  # the neighbours-th smallest distance
    # Distances relative to the nearest bin: the same normalised weights, without exp underflow far from the grid.
    nearest = ops.min(squared, axis=-1, keepdims=True)
    weights = ops.exp(-(squared - nearest) / (2.0 * sigma**2)) * ops.cast(squared <= kth, "float32")
    return weights / ops.sum(weights, axis=-1, keepdims=True)


def colorization_loss(ab, logits, bin_centres, neighbours: int = 5, sigma: float = 5.0):
    """Per-sample multinomial cross-entropy (N,) between soft-encoded ``ab`` (N, h, w, 2) and ``logits`` (N, h, w, Q).

    Zhang et al. (2016), Eq. 2, averaged over the h x w positions (the paper sums them) and without the
    class-rebalancing weights v(Z): they serve vivid colours in pictures, not features, and need a
    pass over the data for the empirical ab prior.
    """
    targets = soft_encode(ab, bin_centres, neighbours, sigma)
    log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    per_position = -ops.sum(targets * log_probs, axis=-1)  # (N, h, w)
    return ops.mean(ops.reshape(per_position, (ops.shape(per_position)[0], -1)), axis=-1)


@keras.saving.register_keras_serializable(package="kssl_colorization")
class ColorizationLoss(keras.losses.Loss):
    """:func:`colorization_loss` as a ``keras.losses.Loss``: ``y_true`` the ab colours (N, h, w, 2), ``y_pred`` the logits (N, h, w, Q).

    The bins are :func:`kssl_colorization.lab.ab_bins` of ``bin_size`` (261 in-gamut bins for 10). Through
    a ``Loss``, Keras scales it per replica under a distribution strategy.

    Args:
        bin_size: side of the ab quantisation grid (Zhang et al.: 10).
        neighbours: bins each true colour is spread over (Zhang et al.: 5).
        sigma: width of the Gaussian spreading kernel, in ab units (Zhang et al.: 5).
    """

    def __init__(self, bin_size: float = 10.0, neighbours: int = 5, sigma: float = 5.0, name: str = "colorization_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.bin_size = check_positive("bin_size", bin_size)
        self.neighbours = check_int("neighbours", neighbours, low=1)
        self.sigma = check_positive("sigma", sigma)
        self.bin_centres = ab_bins(self.bin_size)

    def call(self, y_true, y_pred):
        return colorization_loss(y_true, y_pred, self.bin_centres, self.neighbours, self.sigma)

    def get_config(self):
        return {**super().get_config(), "bin_size": self.bin_size, "neighbours": self.neighbours, "sigma": self.sigma}
