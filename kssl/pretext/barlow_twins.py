"""Barlow Twins: self-supervised learning via redundancy reduction (Zbontar et al., ICML 2021)."""

from __future__ import annotations

import keras
from keras import ops

from kssl.checks import check_int, check_number, check_widths
from kssl.heads.mlp_head import MLPHead
from kssl.losses.barlow_twins import BarlowTwinsLoss
from kssl.losses.cross_replica import with_model_losses
from kssl.pretext.pretext_task import PretextTask


@keras.saving.register_keras_serializable(package="kssl")
class BarlowTwins(PretextTask):
    """Two augmented views, encoder + projector, and the cross-correlation of their embeddings pushed to the identity.

    Zbontar, Jing, Misra, LeCun, Deny, "Barlow Twins: Self-Supervised Learning via
    Redundancy Reduction", ICML 2021 (arXiv:2103.03230). No negatives, no momentum
    network, no stop-gradient: :class:`~kssl.losses.barlow_twins.BarlowTwinsLoss`
    standardises each embedding feature over the (global) batch and asks the two
    views' cross-correlation matrix to be the identity, so features are invariant to
    the augmentations and decorrelated from each other.

    ``call`` runs each view through encoder and projector separately (as the paper's
    Algorithm 1, so batch norm sees one view at a time) and returns the embeddings
    stacked as (2, N, projection_dim). The projector is an :class:`~kssl.heads.MLPHead`
    without output batch norm: the loss standardises the embeddings itself, which is
    the paper's final affine-free batch norm.

    The paper's projector has three layers of 8192 units and ``λ = 5e-3`` (0.0051 in
    the released code). The redundancy term sums ``D (D - 1)`` squared correlations
    against the invariance term's ``D``, so their balance depends on ``D``: with
    ``D = 8192`` the paper's ``λ D`` is about 42. The small defaults here (one hidden
    layer of 512, ``D = 512``) keep the paper's ``λ = 5e-3``, which then weighs redundancy
    less than the paper does; a recipe may raise ``redundancy_weight`` towards ``40 / D``
    (the ``barlow_twins`` zoo recipe uses 0.02 with ``D = 512``; its comments say why).

    Args:
        encoder: ``keras.Model`` from images to features.
        augmenter: random ``keras.layers.Layer`` (identity when not training).
        projection_dim: width D of the embeddings (the cross-correlation is D x D).
        projection_hidden_dims: hidden widths of the projector (Dense-BatchNorm-ReLU blocks).
        redundancy_weight: λ >= 0, the weight of the off-diagonal (redundancy-reduction) term.
    """

    needs_augmenter = True  # two identical views teach nothing

    def __init__(self, encoder, augmenter=None, projection_dim: int = 512, projection_hidden_dims=(512,), redundancy_weight: float = 5e-3, **kwargs):
        super().__init__(encoder, augmenter, **kwargs)
        self.projection_dim = check_int("projection_dim", projection_dim, low=1)
        self.projection_hidden_dims = check_widths("projection_hidden_dims", projection_hidden_dims)
        self.redundancy_weight = check_number("redundancy_weight", redundancy_weight, low=0.0)
        self.projector = MLPHead(self.projection_hidden_dims, self.projection_dim, name="projector")
        self.barlow_twins_loss = BarlowTwinsLoss(self.redundancy_weight)

    def call(self, x, training=False):
        views = self.views(x, 2, training=training)
        return ops.stack([self.projector(self.encoder(v, training=training), training=training) for v in views], axis=0)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return with_model_losses(self, self.barlow_twins_loss(y_pred[0], y_pred[1]))

    def get_config(self):
        return {
            **super().get_config(),
            "projection_dim": self.projection_dim,
            "projection_hidden_dims": self.projection_hidden_dims,
            "redundancy_weight": self.redundancy_weight,
        }
