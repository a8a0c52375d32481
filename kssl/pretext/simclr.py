"""SimCLR: contrastive learning of visual representations (Chen et al., ICML 2020)."""

from __future__ import annotations

import keras
from keras import ops

from kssl.checks import check_int, check_positive
from kssl.heads.projection_head import ProjectionHead
from kssl.losses.cross_replica import all_gather, with_model_losses
from kssl.losses.nt_xent import NTXentLoss, nt_xent_logits
from kssl.saving import components_config, components_from_config


@keras.saving.register_keras_serializable(package="kssl")
class SimCLR(keras.Model):
    """Two augmented views per image, encoder + projection head, NT-Xent loss.

    ``fit(x)`` takes raw unlabeled images: the augmenter runs inside the model
    (only when training), so the same model trains on every backend and device.
    ``call`` returns the two views' projections stacked as (2, N, projection_dim);
    the loss is computed in ``compute_loss``.

    Args:
        encoder: ``keras.Model`` from images to features.
        augmenter: random ``keras.layers.Layer`` (identity when not training).
        projection_dim: output width of the projection head.
        projection_hidden_dims: hidden widths of the projection head.
        temperature: NT-Xent temperature τ > 0.
    """

    def __init__(
        self,
        encoder,
        augmenter=None,
        projection_dim: int = 64,
        projection_hidden_dims=(256,),
        temperature: float = 0.1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.temperature = check_positive("temperature", temperature)
        self.projection_dim = check_int("projection_dim", projection_dim, low=1)
        self.projection_hidden_dims = list(projection_hidden_dims) if isinstance(projection_hidden_dims, (list, tuple)) else projection_hidden_dims
        self.encoder = encoder
        self.augmenter = augmenter
        self.projector = ProjectionHead(self.projection_hidden_dims, self.projection_dim, name="projector")
        self.contrastive_loss = NTXentLoss(self.temperature)
        self.contrastive_accuracy = keras.metrics.Mean(name="contrastive_accuracy")

    def build(self, input_shape):
        if not self.encoder.built:
            self.encoder.build(input_shape)
        self.projector.build(self.encoder.compute_output_shape(input_shape))
        if self.augmenter is not None and not self.augmenter.built:
            self.augmenter.build(input_shape)
        self.built = True

    def views(self, x, training=False):
        """Two augmented views of a batch (identical when not training)."""
        if self.augmenter is None or not training:
            return x, x
        return self.augmenter(x, training=True), self.augmenter(x, training=True)

    def call(self, x, training=False):
        v1, v2 = self.views(x, training=training)
        n = ops.shape(x)[0]
        h = self.encoder(ops.concatenate([v1, v2], axis=0), training=training)
        z = self.projector(h, training=training)
        return ops.stack([z[:n], z[n:]], axis=0)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        z1, z2 = y_pred[0], y_pred[1]
        # NTXentLoss sees the global batch under every strategy (cross-replica gather) and is
        # scaled per replica by keras.losses.Loss; regularisation terms are scaled the same way.
        loss = self.contrastive_loss(z1, z2)
        self._track_accuracy(z1, z2)
        return with_model_losses(self, loss)

    def _track_accuracy(self, z1, z2):
        # Top-1 over the global batch: is the other view the most similar of the 2N-1 candidates
        # for each anchor of z1? (The temperature does not change the argmax.)
        logits, positives = nt_xent_logits(all_gather(z1), all_gather(z2), 1.0)
        n = ops.shape(logits)[0] // 2
        best = ops.argmax(logits[:n], axis=1)
        hits = ops.cast(ops.equal(best, ops.cast(positives[:n], best.dtype)), "float32")
        self.contrastive_accuracy.update_state(hits)

    def get_config(self):
        config = super().get_config()
        config.update(
            **components_config(self.encoder, self.augmenter),
            projection_dim=self.projection_dim,
            projection_hidden_dims=self.projection_hidden_dims,
            temperature=self.temperature,
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**components_from_config(config))
