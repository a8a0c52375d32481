"""VICReg: variance-invariance-covariance regularisation (Bardes, Ponce & LeCun, ICLR 2022)."""

from __future__ import annotations

import keras
from keras import ops

from kssl.checks import check_int, check_number, check_widths
from kssl.heads.mlp_head import MLPHead
from kssl.losses.cross_replica import with_model_losses
from kssl.losses.vicreg import VICRegLoss
from kssl.pretext.pretext_task import PretextTask


@keras.saving.register_keras_serializable(package="kssl")
class VICReg(PretextTask):
    """Two augmented views, encoder + expander, and VICReg's three terms on the embeddings.

    Bardes, Ponce, LeCun, "VICReg: Variance-Invariance-Covariance Regularization for
    Self-Supervised Learning", ICLR 2022 (arXiv:2105.04906). No negatives, no momentum
    network, no normalisation of the embeddings: the invariance term pulls the two views'
    embeddings together, the variance term keeps every embedding dimension's standard
    deviation over the batch above 1 (which prevents collapse) and the covariance term
    decorrelates the dimensions (:class:`~kssl.losses.vicreg.VICRegLoss`). The variance
    and covariance are statistics of the global batch: under several replicas the loss
    gathers every replica's embeddings.

    ``call`` runs each view through encoder and expander separately (Algorithm 1) and
    returns the embeddings stacked as (2, N, projection_dim). The expander is an
    :class:`~kssl.heads.MLPHead` (Dense-BatchNorm-ReLU blocks, linear output), the
    paper's three 8192-unit layers scaled down by default.

    Args:
        encoder: ``keras.Model`` from images to features.
        augmenter: random ``keras.layers.Layer`` making the two views (required).
        projection_dim: width D of the embeddings.
        projection_hidden_dims: hidden widths of the expander.
        invariance_weight: λ >= 0, the weight of the invariance (mean squared error) term (25 in the paper).
        variance_weight: μ >= 0, the weight of the variance hinge (25 in the paper).
        covariance_weight: ν >= 0, the weight of the covariance term (1 in the paper).
    """

    needs_augmenter = True  # two identical views teach nothing

    def __init__(
        self,
        encoder,
        augmenter=None,
        projection_dim: int = 512,
        projection_hidden_dims=(512,),
        invariance_weight: float = 25.0,
        variance_weight: float = 25.0,
        covariance_weight: float = 1.0,
        **kwargs,
    ):
        super().__init__(encoder, augmenter, **kwargs)
        self.projection_dim = check_int("projection_dim", projection_dim, low=1)
        self.projection_hidden_dims = check_widths("projection_hidden_dims", projection_hidden_dims)
        self.invariance_weight = check_number("invariance_weight", invariance_weight, low=0.0)
        self.variance_weight = check_number("variance_weight", variance_weight, low=0.0)
        self.covariance_weight = check_number("covariance_weight", covariance_weight, low=0.0)
        self.expander = MLPHead(self.projection_hidden_dims, self.projection_dim, name="expander")
        self.vicreg_loss = VICRegLoss(self.invariance_weight, self.variance_weight, self.covariance_weight)

    def call(self, x, training=False):
        views = self.views(x, 2, training=training)
        return ops.stack([self.expander(self.encoder(v, training=training), training=training) for v in views], axis=0)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return with_model_losses(self, self.vicreg_loss(y_pred[0], y_pred[1]))

    def get_config(self):
        return {
            **super().get_config(),
            "projection_dim": self.projection_dim,
            "projection_hidden_dims": self.projection_hidden_dims,
            "invariance_weight": self.invariance_weight,
            "variance_weight": self.variance_weight,
            "covariance_weight": self.covariance_weight,
        }
