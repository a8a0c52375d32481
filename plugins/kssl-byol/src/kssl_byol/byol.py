"""BYOL: Bootstrap Your Own Latent (Grill et al., NeurIPS 2020, arXiv:2006.07733)."""

from __future__ import annotations

import keras
from keras import ops

import kssl
from kssl.checks import check_bool, check_int, check_probability, check_widths
from kssl.heads import MLPHead
from kssl.losses import with_model_losses
from kssl_byol.byol_loss import BYOLLoss
from kssl_byol.momentum_update import MomentumUpdate


def _copy_of(encoder):
    """A new encoder with the same architecture (weights are copied in ``build_heads``)."""
    config = keras.saving.serialize_keras_object(encoder)
    if isinstance(config.get("config"), dict) and "name" in config["config"]:
        config["config"]["name"] = f"target_{config['config']['name']}"
    return keras.saving.deserialize_keras_object(config)


@keras.saving.register_keras_serializable(package="kssl_byol")
class BYOL(kssl.PretextTask):
    """Predict the target network's projection of one view from the other view.

    The online network (``encoder`` → projector → predictor) is trained with the
    symmetrised :class:`~kssl_byol.byol_loss.BYOLLoss` to predict the projection
    the target network (a copy of encoder and projector, not trained by the
    optimizer) makes of the other augmented view. After every optimizer step the
    target moves towards the online weights, ``ξ ← τ ξ + (1 - τ) θ``, with τ rising
    from ``base_momentum`` to 1 on a cosine schedule: the
    :class:`~kssl_byol.momentum_update.MomentumUpdate` callback of
    :meth:`training_callbacks` does this, and ``fit`` adds it by itself, so
    ``model.fit(x)`` on raw unlabeled images is all a user writes. No negatives.

    ``call`` returns (4, N, projection_dim): the online predictions of views 1 and
    2, then the target projections of views 1 and 2 (gradients stopped). The
    target's variables are non-trainable (the optimizer never sees them); its
    layers still run in training mode, so its batch-norm layers normalise with
    batch statistics as in the paper (with moving statistics of their own for
    inference). The momentum update moves the target's kernels, biases and
    batch-norm scales and offsets.

    Args:
        encoder: ``keras.Model`` from images to features; the target gets a copy of it.
        augmenter: random ``keras.layers.Layer`` making the two views (training only).
        projection_dim: output width of projector and predictor.
        projection_hidden_dims: hidden widths of the projector.
        predictor_hidden_dims: hidden widths of the predictor.
        batch_norm: batch-normalise the hidden layers of projector and predictor.
        base_momentum: target momentum τ at the start of training, in [0, 1].
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
        super().__init__(encoder, augmenter, **kwargs)
        self.projection_dim = check_int("projection_dim", projection_dim, low=1)
        self.projection_hidden_dims = check_widths("projection_hidden_dims", projection_hidden_dims)
        self.predictor_hidden_dims = check_widths("predictor_hidden_dims", predictor_hidden_dims)
        self.batch_norm = check_bool("batch_norm", batch_norm)
        self.base_momentum = check_probability("base_momentum", base_momentum)
        # Constructed in this order (projector, predictor, target encoder, target projector): each
        # layer draws its initializer seed when it is constructed.
        self.projector = MLPHead(self.projection_hidden_dims, self.projection_dim, batch_norm=self.batch_norm, name="projector")
        self.predictor = MLPHead(self.predictor_hidden_dims, self.projection_dim, batch_norm=self.batch_norm, name="predictor")
        self.target_encoder = _copy_of(encoder)
        self.target_projector = MLPHead(self.projection_hidden_dims, self.projection_dim, batch_norm=self.batch_norm, name="target_projector")
        self.byol_loss = BYOLLoss()

    def build_heads(self, input_shape):
        """Build every head, then freeze the target and make it a copy of the online network."""
        super().build_heads(input_shape)
        # Non-trainable variables, but layers left trainable: batch norm keeps using batch statistics.
        for variable in [*self.target_encoder.weights, *self.target_projector.weights]:
            variable.trainable = False
        self.update_target(0.0)

    def target_pairs(self):
        """(online variable, target variable) for every trainable weight of encoder and projector."""
        online = [*self.encoder.weights, *self.projector.weights]
        target = [*self.target_encoder.weights, *self.target_projector.weights]
        if len(online) != len(target):
            raise ValueError(f"BYOL: the target network has {len(target)} weights, the online network {len(online)}.")
        return [(o, t) for o, t in zip(online, target) if o.trainable]

    def update_target(self, momentum: float) -> None:
        """``target ← momentum * target + (1 - momentum) * online``, for every weight."""
        for online, target in self.target_pairs():
            if momentum == 0.0:
                target.assign(ops.copy(online))  # a copy: on JAX, sharing one buffer breaks buffer donation
            else:
                target.assign(momentum * target + (1.0 - momentum) * online)

    def training_callbacks(self, data=None) -> list:
        """The :class:`MomentumUpdate` of the target network (``fit`` adds it unless one is passed)."""
        return [MomentumUpdate(self.base_momentum)]

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
            "base_momentum": self.base_momentum,
        }
