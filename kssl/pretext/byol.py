"""BYOL: Bootstrap Your Own Latent (Grill et al., NeurIPS 2020, arXiv:2006.07733)."""

from __future__ import annotations

import keras
from keras import ops

from kssl.checks import check_bool, check_int, check_widths
from kssl.heads.mlp_head import MLPHead
from kssl.losses.byol import BYOLLoss
from kssl.losses.cross_replica import with_model_losses
from kssl.pretext.momentum_task import MomentumPretextTask, copy_network, paired_weights


@keras.saving.register_keras_serializable(package="kssl")
class BYOL(MomentumPretextTask):
    """Predict the target network's projection of one view from the other view.

    The online network (``encoder`` → projector → predictor) is trained with the
    symmetrised :class:`~kssl.losses.byol.BYOLLoss` to predict the projection the
    target network (a copy of encoder and projector, not trained by the optimizer)
    makes of the other augmented view. After every optimizer step the target moves
    towards the online weights, ``ξ ← τ ξ + (1 - τ) θ``, with τ rising from
    ``base_momentum`` to 1 on a cosine schedule (:class:`~kssl.pretext.momentum_task.MomentumPretextTask`
    and its :class:`~kssl.pretext.momentum_update.MomentumUpdate` callback, which ``fit``
    adds by itself). No negatives, so nothing needs the global batch.

    ``call`` returns (4, N, projection_dim): the online predictions of views 1 and
    2, then the target projections of views 1 and 2 (gradients stopped). The target's
    layers run in training mode, so its batch-norm layers normalise with batch
    statistics as in the paper.

    Args:
        encoder: ``keras.Model`` from images to features; the target gets a copy of it.
        augmenter: random ``keras.layers.Layer`` making the two views (required).
        projection_dim: output width of projector and predictor.
        projection_hidden_dims: hidden widths of the projector.
        predictor_hidden_dims: hidden widths of the predictor.
        batch_norm: batch-normalise the hidden layers of projector and predictor.
        base_momentum: target momentum τ at the start of training, in [0, 1).
    """

    def __init__(
        self,
        encoder,
        augmenter=None,
        projection_dim: int = 64,
        projection_hidden_dims=(256,),
        predictor_hidden_dims=(256,),
        batch_norm: bool = True,
        base_momentum: float = 0.99,
        **kwargs,
    ):
        super().__init__(encoder, augmenter, base_momentum=base_momentum, **kwargs)
        self.projection_dim = check_int("projection_dim", projection_dim, low=1)
        self.projection_hidden_dims = check_widths("projection_hidden_dims", projection_hidden_dims)
        self.predictor_hidden_dims = check_widths("predictor_hidden_dims", predictor_hidden_dims)
        self.batch_norm = check_bool("batch_norm", batch_norm)
        self.projector = MLPHead(self.projection_hidden_dims, self.projection_dim, batch_norm=self.batch_norm, name="projector")
        self.predictor = MLPHead(self.predictor_hidden_dims, self.projection_dim, batch_norm=self.batch_norm, name="predictor")
        self.target_encoder = copy_network(encoder)
        self.target_projector = copy_network(self.projector)
        self.byol_loss = BYOLLoss()

    def build_heads(self, input_shape):
        super().build_heads(input_shape)
        self.freeze_target()

    def target_pairs(self):
        return paired_weights([self.encoder, self.projector], [self.target_encoder, self.target_projector])

    def call(self, x, training=False):
        v1, v2 = self.views(x, 2, training=training)
        n = ops.shape(x)[0]
        both = ops.concatenate([v1, v2], axis=0)
        predictions = self.predictor(self.projector(self.encoder(both, training=training), training=training), training=training)
        targets = ops.stop_gradient(self.target_projector(self.target_encoder(both, training=training), training=training))
        return ops.stack([predictions[:n], predictions[n:], targets[:n], targets[n:]], axis=0)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        p1, p2, t1, t2 = y_pred[0], y_pred[1], y_pred[2], y_pred[3]
        loss = self.byol_loss(t2, p1) + self.byol_loss(t1, p2)  # symmetrised, as in the paper
        return with_model_losses(self, loss)

    def get_config(self):
        return {
            **super().get_config(),
            "projection_dim": self.projection_dim,
            "projection_hidden_dims": list(self.projection_hidden_dims),
            "predictor_hidden_dims": list(self.predictor_hidden_dims),
            "batch_norm": self.batch_norm,
        }
