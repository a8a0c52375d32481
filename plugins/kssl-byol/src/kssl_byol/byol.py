"""BYOL: Bootstrap Your Own Latent (Grill et al., NeurIPS 2020, arXiv:2006.07733)."""

from __future__ import annotations

import keras
from keras import ops

from kssl.checks import check_bool, check_int, check_probability
from kssl.errors import ArgumentError
from kssl.losses.cross_replica import with_model_losses
from kssl.saving import components_config, components_from_config
from kssl_byol.byol_loss import BYOLLoss
from kssl_byol.momentum_update import MomentumUpdate


def _widths(name, value):
    if not isinstance(value, (list, tuple)):
        raise ArgumentError(name, f"expected a list of layer widths such as [256] (or [] for a linear layer), got {value!r}.")
    return [check_int(name, d, low=1) for d in value]


def _mlp(hidden_dims, output_dim, batch_norm, name):
    blocks = []
    for width in hidden_dims:
        blocks.append(keras.layers.Dense(width, use_bias=not batch_norm))
        if batch_norm:
            blocks.append(keras.layers.BatchNormalization())
        blocks.append(keras.layers.ReLU())
    blocks.append(keras.layers.Dense(output_dim))
    return keras.Sequential(blocks, name=name)


def _copy_of(encoder):
    """A new encoder with the same architecture (weights are copied in ``build``)."""
    config = keras.saving.serialize_keras_object(encoder)
    if isinstance(config.get("config"), dict) and "name" in config["config"]:
        config["config"]["name"] = f"target_{config['config']['name']}"
    return keras.saving.deserialize_keras_object(config)


@keras.saving.register_keras_serializable(package="kssl_byol")
class BYOL(keras.Model):
    """Predict the target network's projection of one view from the other view.

    The online network (``encoder`` → projector → predictor) is trained with the
    symmetrised :class:`~kssl_byol.byol_loss.BYOLLoss` to predict the projection
    the target network (a copy of encoder and projector, not trained by the
    optimizer) makes of the other augmented view. After every optimizer step the
    target moves towards the online weights, ``ξ ← τ ξ + (1 - τ) θ``, with τ rising
    from ``base_momentum`` to 1 on a cosine schedule: ``fit`` adds the
    :class:`~kssl_byol.momentum_update.MomentumUpdate` callback that does this, so
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
        super().__init__(**kwargs)
        self.projection_dim = check_int("projection_dim", projection_dim, low=1)
        self.projection_hidden_dims = _widths("projection_hidden_dims", projection_hidden_dims)
        self.predictor_hidden_dims = _widths("predictor_hidden_dims", predictor_hidden_dims)
        self.batch_norm = check_bool("batch_norm", batch_norm)
        self.base_momentum = check_probability("base_momentum", base_momentum)
        self.encoder = encoder
        self.augmenter = augmenter
        self.projector = _mlp(self.projection_hidden_dims, self.projection_dim, self.batch_norm, "projector")
        self.predictor = _mlp(self.predictor_hidden_dims, self.projection_dim, self.batch_norm, "predictor")
        self.target_encoder = _copy_of(encoder)
        self.target_projector = _mlp(self.projection_hidden_dims, self.projection_dim, self.batch_norm, "target_projector")
        self.byol_loss = BYOLLoss()

    def build(self, input_shape):
        if self.augmenter is not None and not self.augmenter.built:
            self.augmenter.build(input_shape)
        for encoder in (self.encoder, self.target_encoder):
            if not encoder.built:
                encoder.build(input_shape)
        features = self.encoder.compute_output_shape(input_shape)
        self.projector.build(features)
        self.target_projector.build(features)
        self.predictor.build(self.projector.compute_output_shape(features))
        # Non-trainable variables, but layers left trainable: batch norm keeps using batch statistics.
        for variable in [*self.target_encoder.weights, *self.target_projector.weights]:
            variable.trainable = False
        self.update_target(0.0)  # the target starts as a copy of the online network
        self.built = True

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

    def views(self, x, training=False):
        """Two augmented views of a batch (identical when not training)."""
        if self.augmenter is None or not training:
            return x, x
        return self.augmenter(x, training=True), self.augmenter(x, training=True)

    def call(self, x, training=False):
        v1, v2 = self.views(x, training=training)
        n = ops.shape(x)[0]
        both = ops.concatenate([v1, v2], axis=0)
        predictions = self.predictor(self.projector(self.encoder(both, training=training), training=training), training=training)
        targets = ops.stop_gradient(self.target_projector(self.target_encoder(both, training=training), training=training))
        return ops.stack([predictions[:n], predictions[n:], targets[:n], targets[n:]], axis=0)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        p1, p2, t1, t2 = y_pred[0], y_pred[1], y_pred[2], y_pred[3]
        loss = self.byol_loss(t2, p1) + self.byol_loss(t1, p2)  # symmetrised, as in the paper
        return with_model_losses(self, loss)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, **kwargs):
        """``keras.Model.fit`` plus the :class:`MomentumUpdate` callback (unless one is passed)."""
        callbacks = list(callbacks or [])
        if not any(isinstance(c, MomentumUpdate) for c in callbacks):
            callbacks.append(MomentumUpdate(self.base_momentum))
        return super().fit(x, y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(
            **components_config(self.encoder, self.augmenter),
            projection_dim=self.projection_dim,
            projection_hidden_dims=list(self.projection_hidden_dims),
            predictor_hidden_dims=list(self.predictor_hidden_dims),
            batch_norm=self.batch_norm,
            base_momentum=self.base_momentum,
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**components_from_config(config))
