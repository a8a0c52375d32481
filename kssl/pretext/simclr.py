"""SimCLR: contrastive learning of visual representations (Chen et al., ICML 2020)."""

from __future__ import annotations

import keras
from keras import ops

from kssl.checks import check_int, check_positive, check_widths
from kssl.heads.mlp_head import MLPHead
from kssl.losses.cross_replica import all_gather, with_model_losses
from kssl.losses.nt_xent import nt_xent_logits
from kssl.pretext.pretext_task import PretextTask


@keras.saving.register_keras_serializable(package="kssl")
class SimCLR(PretextTask):
    """Two augmented views per image, encoder + projection head, NT-Xent loss.

    ``fit(x)`` takes raw unlabeled images: the augmenter runs inside the model
    (only when training), so the same model trains on every backend and device.
    ``call`` returns the two views' projections stacked as (2, N, projection_dim).
    ``compute_loss`` builds the NT-Xent logits of the global batch once
    (:func:`kssl.losses.nt_xent.nt_xent_logits` on the projections of every replica)
    and takes both the loss and the logged ``contrastive_accuracy`` (is the other
    view the most similar of the 2N-1 candidates?) from them.

    Args:
        encoder: ``keras.Model`` from images to features.
        augmenter: random ``keras.layers.Layer`` (identity when not training).
        projection_dim: output width of the projection head.
        projection_hidden_dims: hidden widths of the projection head.
        temperature: NT-Xent temperature τ > 0.
    """

    needs_augmenter = True  # two identical views teach nothing

    def __init__(self, encoder, augmenter=None, projection_dim: int = 64, projection_hidden_dims=(256,), temperature: float = 0.1, **kwargs):
        super().__init__(encoder, augmenter, **kwargs)
        self.temperature = check_positive("temperature", temperature)
        self.projection_dim = check_int("projection_dim", projection_dim, low=1)
        self.projection_hidden_dims = check_widths("projection_hidden_dims", projection_hidden_dims)
        self.projector = MLPHead(self.projection_hidden_dims, self.projection_dim, name="projector")
        # The loss of each anchor is a softmax cross-entropy over its row of logits; through a
        # keras.losses.Loss it is scaled per replica, so 2 replicas give the 1-device gradient.
        self.contrastive_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, name="nt_xent")
        self.contrastive_accuracy = keras.metrics.Mean(name="contrastive_accuracy")

    def call(self, x, training=False):
        v1, v2 = self.views(x, 2, training=training)
        n = ops.shape(x)[0]
        z = self.projector(self.encoder(ops.concatenate([v1, v2], axis=0), training=training), training=training)
        return ops.stack([z[:n], z[n:]], axis=0)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        logits, positives = nt_xent_logits(all_gather(y_pred[0]), all_gather(y_pred[1]), self.temperature)
        loss = self.contrastive_loss(positives, logits)
        n = ops.shape(logits)[0] // 2
        best = ops.argmax(logits[:n], axis=1)
        hits = ops.equal(best, ops.cast(positives[:n], best.dtype))
        self.contrastive_accuracy.update_state(ops.cast(hits, "float32"))
        return with_model_losses(self, loss)

    def get_config(self):
        return {
            **super().get_config(),
            "projection_dim": self.projection_dim,
            "projection_hidden_dims": self.projection_hidden_dims,
            "temperature": self.temperature,
        }
