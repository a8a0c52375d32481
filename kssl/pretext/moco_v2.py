"""MoCo v2: momentum contrast with a queue of negatives (He et al., CVPR 2020; Chen et al., arXiv:2003.04297)."""

from __future__ import annotations

import keras
from keras import ops

from kssl.checks import check_bool, check_int, check_positive, check_widths
from kssl.errors import ArgumentError
from kssl.heads.mlp_head import MLPHead
from kssl.losses.cross_replica import all_gather, with_model_losses
from kssl.losses.moco import MoCoLoss, enqueue, l2_normalize
from kssl.pretext.momentum_task import MomentumPretextTask, copy_network, paired_weights


@keras.saving.register_keras_serializable(package="kssl")
class MoCoV2(MomentumPretextTask):
    """A query of one view against its momentum key of the other view and a FIFO queue of earlier keys.

    He, Fan, Wu, Xie, Girshick, "Momentum Contrast for Unsupervised Visual Representation
    Learning", CVPR 2020, with the v2 improvements (Chen, Fan, Girshick, He, arXiv:2003.04297:
    an MLP projection head, stronger augmentation, τ = 0.2). The query network (encoder →
    projector) is trained with :class:`~kssl.losses.moco.MoCoLoss`, an InfoNCE whose negatives
    are the ``queue_size`` keys of earlier batches; the key network is its momentum copy
    (:class:`~kssl.pretext.momentum_task.MomentumPretextTask`; the papers keep m = 0.999 fixed,
    here it rises from ``base_momentum`` to 1 on a cosine, the mechanism shared with BYOL).

    The queue is a non-trainable (queue_size, projection_dim) weight of L2-normalised keys
    with an integer pointer. ``compute_loss`` scores the queries against the queue as it was
    before the step, then enqueues the keys of the *global* batch (gathered from every
    replica under ``tf.distribute``; global arrays under JAX), in keras.ops inside the train
    step, so a 2-replica step leaves the queue of the 1-device step. The queue must hold a
    whole number of global batches: ``queue_size`` is checked against the builder's
    ``batch_size``. The key encoder's batch norm sees the whole key batch (kssl makes batch
    statistics global across replicas) instead of the paper's shuffled BN.

    ``call`` returns (2, N, projection_dim): the queries of view 1 and the keys of view 2.

    Args:
        encoder: ``keras.Model`` from images to features; the key network gets a copy of it.
        augmenter: random ``keras.layers.Layer`` making the two views (required).
        projection_dim: width D of queries, keys and the queue.
        projection_hidden_dims: hidden widths of the projection head (MoCo v2's MLP head).
        batch_norm: batch-normalise the hidden layers of the projection head.
        queue_size: K, the number of negative keys; a multiple of the global batch and at least one batch.
        temperature: τ > 0 of the InfoNCE.
        base_momentum: key-network momentum at the start of training, in [0, 1).
        batch_size: the global batch size (passed by the builder from the data section), to check ``queue_size``.
    """

    def __init__(
        self,
        encoder,
        augmenter=None,
        projection_dim: int = 64,
        projection_hidden_dims=(256,),
        batch_norm: bool = True,
        queue_size: int = 4096,
        temperature: float = 0.2,
        base_momentum: float = 0.999,
        batch_size: int | None = None,
        **kwargs,
    ):
        super().__init__(encoder, augmenter, base_momentum=base_momentum, **kwargs)
        self.projection_dim = check_int("projection_dim", projection_dim, low=1)
        self.projection_hidden_dims = check_widths("projection_hidden_dims", projection_hidden_dims)
        self.batch_norm = check_bool("batch_norm", batch_norm)
        self.queue_size = check_int("queue_size", queue_size, low=1)
        self.temperature = check_positive("temperature", temperature)
        self.batch_size = None if batch_size is None else check_int("batch_size", batch_size, low=1)
        if self.batch_size is not None and (self.queue_size < self.batch_size or self.queue_size % self.batch_size):
            raise ArgumentError(
                "queue_size",
                f"expected a multiple of the global batch size {self.batch_size} (at least one batch), got {queue_size}. "
                f"Use e.g. queue_size: {max(1, round(self.queue_size / self.batch_size)) * self.batch_size}.",
            )
        self.projector = MLPHead(self.projection_hidden_dims, self.projection_dim, batch_norm=self.batch_norm, name="projector")
        self.target_encoder = copy_network(encoder)
        self.target_projector = copy_network(self.projector)
        self.contrastive_loss = MoCoLoss(self.temperature)

    def build_heads(self, input_shape):
        # Every replica computes the same update from the gathered keys: the first replica's value is kept.
        self.queue = self.add_weight(
            shape=(self.queue_size, self.projection_dim), initializer="random_normal", trainable=False, aggregation="only_first_replica", name="queue"
        )
        self.queue.assign(l2_normalize(self.queue))
        self.queue_pointer = self.add_weight(
            shape=(), initializer="zeros", dtype="int32", trainable=False, aggregation="only_first_replica", name="queue_pointer"
        )
        super().build_heads(input_shape)
        self.freeze_target()

    def target_pairs(self):
        return paired_weights([self.encoder, self.projector], [self.target_encoder, self.target_projector])

    def call(self, x, training=False):
        v1, v2 = self.views(x, 2, training=training)
        queries = self.projector(self.encoder(v1, training=training), training=training)
        keys = ops.stop_gradient(self.target_projector(self.target_encoder(v2, training=training), training=training))
        return ops.stack([queries, keys], axis=0)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        queries, keys = y_pred[0], y_pred[1]
        # The queue before this step; a copy, as torch's backward needs the values assign() overwrites in place.
        loss = self.contrastive_loss((keys, ops.copy(self.queue)), queries)
        if training:
            queue, pointer = enqueue(self.queue, self.queue_pointer, all_gather(keys))
            self.queue.assign(queue)
            self.queue_pointer.assign(pointer)
        return with_model_losses(self, loss)

    def get_config(self):
        return {
            **super().get_config(),
            "projection_dim": self.projection_dim,
            "projection_hidden_dims": list(self.projection_hidden_dims),
            "batch_norm": self.batch_norm,
            "queue_size": self.queue_size,
            "temperature": self.temperature,
            "batch_size": self.batch_size,
        }
