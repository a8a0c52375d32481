"""SwAV: online clustering with swapped assignments between views (Caron et al., NeurIPS 2020)."""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from kssl.augment.random_resized_crop import RandomResizedCrop
from kssl.checks import check_int, check_positive, check_range_pair
from kssl.errors import ArgumentError
from kssl.heads.mlp_head import MLPHead as ProjectionHead
from kssl.heads.prototypes import Prototypes
from kssl.losses.cross_replica import on_global_batch, with_model_losses
from kssl.losses.sinkhorn import sinkhorn
from kssl.losses.swav_loss import SwAVLoss
from kssl.saving import components_config, components_from_config


@keras.saving.register_keras_serializable(package="kssl")
class SwAV(keras.Model):
    """Swapping Assignments between Views (arXiv:2006.09882).

    Each image gets two augmented global views plus ``n_small_crops`` zoomed-in
    views (multi-crop). Encoder → projection head → cosine scores against
    ``n_prototypes`` learnable prototypes. The codes of the two global views
    are equal-partition Sinkhorn-Knopp assignments of the batch; each code is
    predicted from the scores of every other view (swapped prediction).

    ``fit(x)`` takes raw unlabeled images: the augmenter runs inside the model
    only when training. ``call`` returns the prototype scores batch-major,
    shape (B, V, K) (V = 2 when not training, where both views are ``x``).
    ``predict_clusters(x)`` gives each sample's best prototype. The metric
    ``prototype_entropy`` (usage entropy of the argmax prototypes in a batch,
    divided by log K) falls towards 0 if the assignments collapse.

    The small crops are taken at the encoder's input resolution (the
    registry encoders have a fixed input shape): a random box of
    ``small_crop_scale`` of the area of an augmented view, resized back up.

    Args:
        encoder: ``keras.Model`` from images to features.
        augmenter: random ``keras.layers.Layer`` (e.g. the registry's ``simclr``).
        n_prototypes: number of prototypes K.
        projection_dim: width of the projection the prototypes score.
        projection_hidden_dims: hidden widths of the projection head.
        temperature: softmax temperature τ of the swapped prediction.
        epsilon: entropic regularisation ε of the Sinkhorn-Knopp codes.
        sinkhorn_iterations: number of Sinkhorn-Knopp normalisation rounds.
        n_small_crops: extra zoomed-in views per image (0: two views only).
        small_crop_scale: [low, high] area fraction of the small crops.
    """

    def __init__(
        self,
        encoder,
        augmenter=None,
        n_prototypes: int = 30,
        projection_dim: int = 64,
        projection_hidden_dims=(256,),
        temperature: float = 0.1,
        epsilon: float = 0.05,
        sinkhorn_iterations: int = 3,
        n_small_crops: int = 0,
        small_crop_scale=(0.2, 0.5),
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.n_prototypes = check_int("n_prototypes", n_prototypes, low=2)
        self.projection_dim = check_int("projection_dim", projection_dim, low=1)
        if not isinstance(projection_hidden_dims, (list, tuple)):
            raise ArgumentError("projection_hidden_dims", f"expected a list of integers such as [256], got {projection_hidden_dims!r}.")
        self.projection_hidden_dims = [check_int("projection_hidden_dims", d, low=1) for d in projection_hidden_dims]
        self.temperature = check_positive("temperature", temperature)
        self.epsilon = check_positive("epsilon", epsilon)
        self.sinkhorn_iterations = check_int("sinkhorn_iterations", sinkhorn_iterations, low=1)
        self.n_small_crops = check_int("n_small_crops", n_small_crops, low=0)
        self.small_crop_scale = list(check_range_pair("small_crop_scale", small_crop_scale, low=0.0, high=1.0, low_inclusive=False, what="area fractions"))
        self.encoder = encoder
        self.augmenter = augmenter
        self.projector = ProjectionHead(self.projection_hidden_dims, self.projection_dim, name="projector")
        self.prototypes = Prototypes(self.n_prototypes, name="prototypes")
        self.swav_loss = SwAVLoss(self.temperature)
        self.prototype_entropy = keras.metrics.Mean(name="prototype_entropy")
        self.small_crop = RandomResizedCrop(scale=self.small_crop_scale, flip_probability=0.0, name="small_crop")

    def build(self, input_shape):
        if not self.encoder.built:
            self.encoder.build(input_shape)
        features = self.encoder.compute_output_shape(input_shape)
        self.projector.build(features)
        self.prototypes.build((*features[:-1], self.projection_dim))
        if self.augmenter is not None and not self.augmenter.built:
            self.augmenter.build(input_shape)
        if not self.small_crop.built:
            self.small_crop.build(input_shape)
        self.built = True

    # -- views -----------------------------------------------------------
    def _augment(self, x):
        return self.augmenter(x, training=True) if self.augmenter is not None else x

    def views(self, x, training=False):
        """The list of views of a batch: two global (identical when not training), then the small crops."""
        if not training:
            return [x, x]
        views = [self._augment(x), self._augment(x)]
        views += [self.small_crop(self._augment(x), training=True) for _ in range(self.n_small_crops)]
        return views

    # -- model -----------------------------------------------------------
    def scores(self, x, training=False):
        """Prototype scores (B, K) of un-augmented inputs."""
        h = self.encoder(x, training=training)
        return self.prototypes(self.projector(h, training=training))

    def call(self, x, training=False):
        views = self.views(x, training=training)
        n = ops.shape(x)[0]
        h = self.encoder(ops.concatenate(views, axis=0), training=training)
        s = self.prototypes(self.projector(h, training=training))
        return ops.stack([s[i * n : (i + 1) * n] for i in range(len(views))], axis=1)

    def compute_codes(self, scores):
        """Sinkhorn-Knopp codes (B, K) of one view's scores (B, K) over the global batch.

        The equal-partition constraint is over the whole global batch: under
        tf.distribute every replica gathers all replicas' scores, runs
        Sinkhorn-Knopp on them and keeps its own rows (an identity on one
        device and under JAX, whose arrays are global already).
        """
        return on_global_batch(lambda s: sinkhorn(s, epsilon=self.epsilon, iterations=self.sinkhorn_iterations), scores)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        scores = y_pred
        codes = ops.stack([self.compute_codes(scores[:, a]) for a in range(2)], axis=1)
        loss = self.swav_loss(codes, scores)
        self._track_usage(scores[:, 0])
        return with_model_losses(self, loss)

    def _track_usage(self, scores):
        usage = ops.mean(ops.one_hot(ops.argmax(scores, axis=-1), self.n_prototypes), axis=0)
        entropy = -ops.sum(usage * ops.log(ops.maximum(usage, 1e-12)))
        self.prototype_entropy.update_state(entropy / math.log(self.n_prototypes))

    # -- inference -------------------------------------------------------
    def predict_scores(self, x, batch_size: int = 256) -> np.ndarray:
        """Prototype scores (N, K) of ``x`` (no augmentation)."""
        out = [ops.convert_to_numpy(self.scores(x[i : i + batch_size], training=False)) for i in range(0, len(x), batch_size)]
        return np.concatenate(out, axis=0) if out else np.zeros((0, self.n_prototypes), "float32")

    def predict_clusters(self, x, batch_size: int = 256) -> np.ndarray:
        """Each sample's highest-scoring prototype, shape (N,), ids in [0, n_prototypes)."""
        return self.predict_scores(x, batch_size).argmax(axis=1).astype("int64")

    @property
    def n_clusters(self) -> int:
        return self.n_prototypes

    def get_config(self):
        config = super().get_config()
        config.update(
            **components_config(self.encoder, self.augmenter),
            n_prototypes=self.n_prototypes,
            projection_dim=self.projection_dim,
            projection_hidden_dims=self.projection_hidden_dims,
            temperature=self.temperature,
            epsilon=self.epsilon,
            sinkhorn_iterations=self.sinkhorn_iterations,
            n_small_crops=self.n_small_crops,
            small_crop_scale=self.small_crop_scale,
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**components_from_config(config))
