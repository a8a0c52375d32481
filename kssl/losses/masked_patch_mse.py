"""MAE's reconstruction loss: the mean squared error of the pixels of the masked patches only.

He, Chen, Xie, Li, Dollár, Girshick, "Masked Autoencoders Are Scalable Vision Learners",
CVPR 2022 (arXiv:2111.06377), §3 "Reconstruction target": the MSE between the
reconstructed and original images in pixel space, computed on masked patches only;
with ``norm_pix_loss`` the target of each patch is its pixels normalised by the patch's
own mean and standard deviation (which improved representations in their Table 1c).
"""

from __future__ import annotations

import keras
from keras import ops

EPSILON = 1e-6  # added to each patch's variance, as in the paper's code


def normalised_patches(patches, epsilon: float = EPSILON):
    """Each patch (last axis) minus its mean, over ``sqrt(variance + epsilon)`` (the ``norm_pix_loss`` target)."""
    patches = ops.cast(patches, "float32")
    mean = ops.mean(patches, axis=-1, keepdims=True)
    var = ops.var(patches, axis=-1, keepdims=True)
    return (patches - mean) / ops.sqrt(var + epsilon)


def patch_mse(target, predicted, norm_pix_loss: bool = False):
    """Per-patch mean squared error (B, N) between ``predicted`` and ``target`` pixel patches (B, N, P)."""
    target = normalised_patches(target) if norm_pix_loss else ops.cast(target, "float32")
    return ops.mean(ops.square(ops.cast(predicted, "float32") - target), axis=-1)


def masked_patch_mse(target, predicted, mask, norm_pix_loss: bool = False):
    """``sum(mask * patch_mse) / sum(mask)``: the mean per-pixel squared error over the masked patches of the batch.

    ``target`` and ``predicted`` are (B, N, P) pixel patches, ``mask`` (B, N) is 1 for a
    masked patch and 0 for a visible one; visible patches add nothing to the loss or its gradient.
    """
    mask = ops.cast(mask, "float32")
    return ops.sum(patch_mse(target, predicted, norm_pix_loss) * mask) / ops.maximum(ops.sum(mask), 1.0)


@keras.saving.register_keras_serializable(package="kssl")
class MaskedPatchMSELoss(keras.losses.Loss):
    """:func:`masked_patch_mse` as a Keras loss: ``loss(target_patches, predicted_patches, sample_weight=mask)``.

    ``call`` gives the per-patch error and the ``mean_with_sample_weight`` reduction takes its
    mean over the masked patches (weight 1); under ``tf.distribute`` Keras scales it per replica.

    Args:
        norm_pix_loss: compare with per-patch normalised pixels instead of raw ones.
    """

    def __init__(self, norm_pix_loss: bool = False, name: str = "masked_patch_mse", reduction="mean_with_sample_weight", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.norm_pix_loss = bool(norm_pix_loss)

    def call(self, y_true, y_pred):
        return patch_mse(y_true, y_pred, self.norm_pix_loss)

    def get_config(self):
        return {**super().get_config(), "norm_pix_loss": self.norm_pix_loss}
