"""MoCo v3: momentum contrast with a predictor and in-batch negatives (Chen, Xie & He, ICCV 2021, arXiv:2104.02057)."""

from __future__ import annotations

import keras
from keras import ops

from kssl.checks import check_bool, check_int, check_positive, check_widths
from kssl.heads.mlp_head import MLPHead
from kssl.losses.cross_replica import with_model_losses
from kssl.losses.moco_v3 import MoCoV3Loss
from kssl.pretext.momentum_task import MomentumPretextTask, copy_network, paired_weights


@keras.saving.register_keras_serializable(package="kssl")
class MoCoV3(MomentumPretextTask):
    """Queries from the online network (encoder → projector → predictor), keys from its momentum copy; no queue.

    Chen, Xie, He, "An Empirical Study of Training Self-Supervised Vision Transformers",
    ICCV 2021. Each view's query is contrasted with the momentum network's key of the
    other view, the other keys of the *global* batch being the negatives, with the
    symmetrised :class:`~kssl.losses.moco_v3.MoCoV3Loss` ``ctr(q1, k2) + ctr(q2, k1)``
    (each ``2 τ`` times an InfoNCE). The momentum network (a copy of encoder and
    projector, :class:`~kssl.pretext.momentum_task.MomentumPretextTask`) follows the online
    one with a momentum rising from ``base_momentum`` to 1 on a cosine; ``fit`` adds the
    callback that moves it.

    ``call`` returns (4, N, projection_dim): the queries of views 1 and 2, then the keys
    of views 1 and 2 (gradients stopped). It needs an augmenter.

    Args:
        encoder: ``keras.Model`` from images to features; the momentum network gets a copy of it.
        augmenter: random ``keras.layers.Layer`` making the two views (required).
        projection_dim: output width of projector and predictor.
        projection_hidden_dims: hidden widths of the projector.
        predictor_hidden_dims: hidden widths of the predictor.
        batch_norm: batch-normalise the hidden layers of projector and predictor.
        temperature: τ > 0 of the InfoNCE.
        base_momentum: momentum at the start of training, in [0, 1).
    """

    def __init__(
        self,
        encoder,
        augmenter=None,
        projection_dim: int = 64,
        projection_hidden_dims=(256,),
        predictor_hidden_dims=(256,),
        batch_norm: bool = True,
        temperature: float = 0.2,
        base_momentum: float = 0.99,
        **kwargs,
    ):
        super().__init__(encoder, augmenter, base_momentum=base_momentum, **kwargs)
        self.projection_dim = check_int("projection_dim", projection_dim, low=1)
        self.projection_hidden_dims = check_widths("projection_hidden_dims", projection_hidden_dims)
        self.predictor_hidden_dims = check_widths("predictor_hidden_dims", predictor_hidden_dims)
        self.batch_norm = check_bool("batch_norm", batch_norm)
        self.temperature = check_positive("temperature", temperature)
        self.projector = MLPHead(self.projection_hidden_dims, self.projection_dim, batch_norm=self.batch_norm, name="projector")
        self.predictor = MLPHead(self.predictor_hidden_dims, self.projection_dim, batch_norm=self.batch_norm, name="predictor")
        self.target_encoder = copy_network(encoder)
        self.target_projector = copy_network(self.projector)
        self.contrastive_loss = MoCoV3Loss(self.temperature)

    def build_heads(self, input_shape):
        super().build_heads(input_shape)
        self.freeze_target()

    def target_pairs(self):
        return paired_weights([self.encoder, self.projector], [self.target_encoder, self.target_projector])

    def call(self, x, training=False):
        views = self.views(x, 2, training=training)
        queries = [self.predictor(self.projector(self.encoder(v, training=training), training=training), training=training) for v in views]
        keys = [ops.stop_gradient(self.target_projector(self.target_encoder(v, training=training), training=training)) for v in views]
        return ops.stack([*queries, *keys], axis=0)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        q1, q2, k1, k2 = y_pred[0], y_pred[1], y_pred[2], y_pred[3]
        loss = self.contrastive_loss(k2, q1) + self.contrastive_loss(k1, q2)
        return with_model_losses(self, loss)

    def get_config(self):
        return {
            **super().get_config(),
            "projection_dim": self.projection_dim,
            "projection_hidden_dims": list(self.projection_hidden_dims),
            "predictor_hidden_dims": list(self.predictor_hidden_dims),
            "batch_norm": self.batch_norm,
            "temperature": self.temperature,
        }
