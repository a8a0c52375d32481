"""SimSiam: simple Siamese representation learning (Chen & He, CVPR 2021, arXiv:2011.10566)."""

from __future__ import annotations

import keras
from keras import ops

from kssl.checks import check_int, check_widths
from kssl.heads.mlp_head import MLPHead
from kssl.losses.cross_replica import with_model_losses
from kssl.losses.simsiam import SimSiamLoss
from kssl.pretext.pretext_task import PretextTask


@keras.saving.register_keras_serializable(package="kssl")
class SimSiam(PretextTask):
    """Two views, one network: the predictor of one view regresses the projection of the other, gradient stopped.

    Chen, He, "Exploring Simple Siamese Representation Learning", CVPR 2021. The encoder
    and projector ``f`` (an :class:`~kssl.heads.MLPHead` ending in batch norm, as the paper's)
    embed both views; the predictor ``h`` (a bottleneck MLP) maps one view's projection to
    the other's, and :class:`~kssl.losses.simsiam.SimSiamLoss` takes the symmetrised negative
    cosine with the target projection's gradient stopped. No negatives, no momentum
    encoder: the stop-gradient alone prevents collapse (the paper's section 4).

    ``call`` returns (4, N, projection_dim): the predictions of views 1 and 2, then their
    projections. It needs an augmenter (``augmenter: null`` is an error naming ``augmenter``).

    Args:
        encoder: ``keras.Model`` from images to features.
        augmenter: random ``keras.layers.Layer`` making the two views (required).
        projection_dim: output width of projector and predictor.
        projection_hidden_dims: hidden widths of the projector.
        predictor_hidden_dims: hidden widths of the predictor (the paper's bottleneck is a quarter of ``projection_dim``).
    """

    needs_augmenter = True

    def __init__(self, encoder, augmenter=None, projection_dim: int = 128, projection_hidden_dims=(256,), predictor_hidden_dims=(32,), **kwargs):
        super().__init__(encoder, augmenter, **kwargs)
        self.projection_dim = check_int("projection_dim", projection_dim, low=1)
        self.projection_hidden_dims = check_widths("projection_hidden_dims", projection_hidden_dims)
        self.predictor_hidden_dims = check_widths("predictor_hidden_dims", predictor_hidden_dims)
        self.projector = MLPHead(self.projection_hidden_dims, self.projection_dim, output_batch_norm=True, name="projector")
        self.predictor = MLPHead(self.predictor_hidden_dims, self.projection_dim, name="predictor")
        self.simsiam_loss = SimSiamLoss()

    def call(self, x, training=False):
        views = self.views(x, 2, training=training)
        z = [self.projector(self.encoder(v, training=training), training=training) for v in views]
        p = [self.predictor(zi, training=training) for zi in z]
        return ops.stack([p[0], p[1], z[0], z[1]], axis=0)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = self.simsiam_loss((y_pred[2], y_pred[3]), (y_pred[0], y_pred[1]))
        return with_model_losses(self, loss)

    def get_config(self):
        return {
            **super().get_config(),
            "projection_dim": self.projection_dim,
            "projection_hidden_dims": list(self.projection_hidden_dims),
            "predictor_hidden_dims": list(self.predictor_hidden_dims),
        }
