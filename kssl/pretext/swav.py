"""SwAV: online clustering with swapped assignments between views (Caron et al., NeurIPS 2020)."""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from kssl.augment.multi_crop import MultiCrop
from kssl.checks import check_int, check_positive, check_range_pair, check_widths
from kssl.heads.mlp_head import MLPHead
from kssl.heads.prototypes import Prototypes
from kssl.inference import map_batches
from kssl.losses.cross_replica import on_global_batch, with_model_losses
from kssl.losses.sinkhorn import sinkhorn
from kssl.losses.swav_loss import SwAVLoss
from kssl.pretext.pretext_task import PretextTask


@keras.saving.register_keras_serializable(package="kssl")
class SwAV(PretextTask):
    """Swapping Assignments between Views (arXiv:2006.09882).

    Each image gets two augmented global views plus ``n_small_crops`` zoomed-in
    views (multi-crop: a :class:`~kssl.augment.multi_crop.MultiCrop` around the
    augmenter, :meth:`multi_crop`). Encoder → projection head (an
    :class:`kssl.heads.mlp_head.MLPHead`) → cosine scores against ``n_prototypes``
    learnable prototypes. The codes of the two global views are equal-partition
    Sinkhorn-Knopp assignments of the batch; each code is predicted from the
    scores of every other view (swapped prediction).

    ``fit(x)`` takes raw unlabeled images: the augmenter runs inside the model
    only when training. ``call`` returns the prototype scores batch-major,
    shape (B, V, K) (V = 2 when not training, where both views are ``x``).
    ``predict_clusters(x)`` gives each sample's best prototype (``n_clusters``
    is ``n_prototypes``). The metric ``prototype_entropy`` (usage entropy of the
    argmax prototypes in a batch, divided by log K) falls towards 0 if the
    assignments collapse.

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

    needs_augmenter = True  # two identical views teach nothing

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
        super().__init__(encoder, augmenter, **kwargs)
        self.n_prototypes = check_int("n_prototypes", n_prototypes, low=2)
        self.projection_dim = check_int("projection_dim", projection_dim, low=1)
        self.projection_hidden_dims = check_widths("projection_hidden_dims", projection_hidden_dims)
        self.temperature = check_positive("temperature", temperature)
        self.epsilon = check_positive("epsilon", epsilon)
        self.sinkhorn_iterations = check_int("sinkhorn_iterations", sinkhorn_iterations, low=1)
        self.n_small_crops = check_int("n_small_crops", n_small_crops, low=0)
        self.small_crop_scale = list(check_range_pair("small_crop_scale", small_crop_scale, low=0.0, high=1.0, low_inclusive=False, what="area fractions"))
        self.projector = MLPHead(self.projection_hidden_dims, self.projection_dim, name="projector")
        self.prototypes = Prototypes(self.n_prototypes, name="prototypes")
        self.swav_loss = SwAVLoss(self.temperature)
        self.prototype_entropy = keras.metrics.Mean(name="prototype_entropy")
        self.crops = MultiCrop(augmenter, global_crops=2, local_crops=self.n_small_crops, local_scale=self.small_crop_scale, name="multi_crop")

    def build_heads(self, input_shape):
        """Also the multi-crop layer, whose small crops only training calls reach."""
        self.crops.build(input_shape)
        super().build_heads(input_shape)

    # -- views -----------------------------------------------------------
    def multi_crop(self, x, training=False) -> list:
        """The views of a batch: two global ones (both ``x`` when not training), then the small crops."""
        return self.crops(x, training=training)

    # -- model -----------------------------------------------------------
    def scores(self, x, training=False):
        """Prototype scores (B, K) of un-augmented inputs."""
        h = self.encoder(x, training=training)
        return self.prototypes(self.projector(h, training=training))

    def call(self, x, training=False):
        views = self.multi_crop(x, training=training)
        n = ops.shape(x)[0]
        s = self.scores(ops.concatenate(views, axis=0), training=training)
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
        return map_batches(lambda b: self.scores(b, training=False), x, batch_size, empty_shape=(0, self.n_prototypes))

    def predict_clusters(self, x, batch_size: int = 256) -> np.ndarray:
        """Each sample's highest-scoring prototype, shape (N,), ids in [0, n_prototypes)."""
        return self.predict_scores(x, batch_size).argmax(axis=1).astype("int64")

    @property
    def n_clusters(self) -> int:
        """The number of prototypes: the clusters :meth:`predict_clusters` can return."""
        return self.n_prototypes

    def get_config(self):
        return {
            **super().get_config(),
            "n_prototypes": self.n_prototypes,
            "projection_dim": self.projection_dim,
            "projection_hidden_dims": self.projection_hidden_dims,
            "temperature": self.temperature,
            "epsilon": self.epsilon,
            "sinkhorn_iterations": self.sinkhorn_iterations,
            "n_small_crops": self.n_small_crops,
            "small_crop_scale": self.small_crop_scale,
        }
