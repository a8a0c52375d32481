"""RotNet: self-supervised features from predicting image rotations.

Gidaris, Singh, Komodakis, "Unsupervised Representation Learning by Predicting
Image Rotations", ICLR 2018 (arXiv:1803.07728).
"""

from __future__ import annotations

import keras
from keras import ops

import kssl
from kssl.checks import check_bool, check_widths
from kssl.errors import ArgumentError
from kssl.heads import MLPHead
from kssl.losses import with_model_losses

NUM_ROTATIONS = 4  # 0, 90, 180 and 270 degrees


def rotate_batch(x):
    """The four rotations of a batch of square images (N, H, H, C) and their labels.

    Returns ``(rotated, labels)``: ``rotated`` is (4N, H, H, C), the whole batch
    turned by 0, then 90, 180 and 270 degrees (counter-clockwise, as ``numpy.rot90``
    on each image); ``labels`` is (4N,) int32, ``k`` for a turn of ``k * 90`` degrees.
    """
    n = ops.shape(x)[0]
    rotated = ops.concatenate([ops.rot90(x, k=k, axes=(1, 2)) for k in range(NUM_ROTATIONS)], axis=0)
    labels = ops.repeat(ops.arange(NUM_ROTATIONS, dtype="int32"), n)
    return rotated, labels


@keras.saving.register_keras_serializable(package="kssl_rotnet")
class RotNet(kssl.PretextTask):
    """Predict which of the 0/90/180/270° rotations was applied to an image.

    Each training batch of N images (augmented first, when an augmenter is given)
    is expanded to its 4N rotations; the encoder and a small classification head
    (:class:`kssl.heads.MLPHead` with 4 outputs) predict the rotation, trained with
    softmax cross-entropy. ``call`` returns the (4N, 4) rotation logits; the loss is
    computed in ``compute_loss`` from targets the model makes itself, so ``fit(x)``
    takes raw unlabeled images. Images must be square so that every rotation has the
    same shape.

    Args:
        encoder: ``keras.Model`` from images (N, H, H, C) to features (N, D).
        augmenter: random ``keras.layers.Layer`` applied before rotating (training only), or None.
        head_hidden_dims: widths of the head's hidden Dense-BatchNorm-ReLU blocks ([] for a linear head).
        head_batch_norm: batch-normalise the head's hidden layers.
    """

    def __init__(self, encoder, augmenter=None, head_hidden_dims=(256,), head_batch_norm: bool = True, **kwargs):
        super().__init__(encoder, augmenter, **kwargs)
        self.head_hidden_dims = check_widths("head_hidden_dims", head_hidden_dims)
        self.head_batch_norm = check_bool("head_batch_norm", head_batch_norm)
        shape = getattr(encoder, "input_shape", None)
        if isinstance(shape, tuple) and len(shape) == 4 and None not in shape[1:3] and shape[1] != shape[2]:
            raise ArgumentError(
                "encoder",
                f"rotnet needs square images (height == width) so that rotated images keep their shape; "
                f"the encoder takes {shape[1]}x{shape[2]}. Resize the data to a square, e.g. data.image_size: {max(shape[1:3])}.",
            )
        self.head = MLPHead(self.head_hidden_dims, NUM_ROTATIONS, batch_norm=self.head_batch_norm, name="rotation_head")
        self.rotation_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, name="rotation_loss")
        self.rotation_accuracy = keras.metrics.SparseCategoricalAccuracy(name="rotation_accuracy")

    def call(self, x, training=False):
        (view,) = self.views(x, 1, training=training)
        rotated, _ = rotate_batch(view)
        return self.head(self.encoder(rotated, training=training), training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        n = ops.shape(y_pred)[0] // NUM_ROTATIONS
        labels = ops.repeat(ops.arange(NUM_ROTATIONS, dtype="int32"), n)  # the order rotate_batch uses
        self.rotation_accuracy.update_state(labels, y_pred)
        loss = self.rotation_loss(labels, ops.cast(y_pred, "float32"))
        return with_model_losses(self, loss)

    def get_config(self):
        return {
            **super().get_config(),
            "head_hidden_dims": list(self.head_hidden_dims),
            "head_batch_norm": self.head_batch_norm,
        }
