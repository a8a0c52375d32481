"""DINO: self-distillation with no labels (Caron et al., ICCV 2021)."""

from __future__ import annotations

import keras
from keras import ops

from kssl.augment.multi_crop import MultiCrop
from kssl.checks import check_bool, check_int, check_number, check_positive, check_range_pair, check_widths
from kssl.errors import ArgumentError
from kssl.heads.mlp_head import MLPHead
from kssl.heads.prototypes import Prototypes
from kssl.losses.cross_replica import all_gather, with_model_losses
from kssl.losses.dino import DINOLoss, updated_center
from kssl.pretext.momentum_task import MomentumPretextTask, copy_network, paired_weights


@keras.saving.register_keras_serializable(package="kssl")
class DINO(MomentumPretextTask):
    """A student matches the centred, sharpened output distribution of its momentum teacher over multi-crop views.

    Caron, Touvron, Misra, Jégou, Mairal, Bojanowski, Joulin, "Emerging Properties in
    Self-Supervised Vision Transformers", ICCV 2021 (arXiv:2104.14294). The student is
    ``encoder`` → DINO head; the teacher a momentum copy of both (:class:`~kssl.pretext.momentum_task.MomentumPretextTask`:
    ``ξ ← m ξ + (1 - m) θ`` after every step, m rising from ``base_momentum`` to 1). Each image
    gives two global views and ``local_crops`` local ones (:class:`~kssl.augment.multi_crop.MultiCrop`
    around the augmenter). The teacher sees the global views only; :class:`~kssl.losses.dino.DINOLoss`
    is the cross-entropy between the teacher's softmax at ``teacher_temperature`` of its centred
    outputs and the student's at ``student_temperature``, over every (teacher view, other student view) pair.

    The DINO head is an :class:`~kssl.heads.MLPHead` to a ``bottleneck_dim`` bottleneck, then an
    L2-normalised bottleneck and a weight-normalised last linear layer to ``out_dim`` with the weight
    norm fixed to 1 (the paper's ``norm_last_layer``): that is a cosine similarity against ``out_dim``
    learned directions, the :class:`~kssl.heads.prototypes.Prototypes` layer. The teacher temperature
    is constant (the paper's optional warm-up from 0.04 to 0.07 is not implemented).

    The centre ``c`` (a non-trainable (1, out_dim) weight, ``center``) is updated in the training
    graph, in ``compute_loss`` after the loss used the previous centre:
    ``c ← center_momentum · c + (1 - center_momentum) · mean(teacher outputs)``, the mean over both
    global views of the global batch (under ``tf.distribute`` every replica gathers all replicas'
    teacher outputs and assigns the same value; under JAX the arrays are global already).

    ``call`` returns (V + 2, N, out_dim): the student outputs of the V views (the two global ones
    first), then the teacher outputs of the two global views (gradients stopped).

    Args:
        encoder: ``keras.Model`` from images to features; the teacher gets a copy of it.
        augmenter: random ``keras.layers.Layer`` making the views (required).
        out_dim: K, the width of the output distributions.
        head_hidden_dims: hidden widths of the head's MLP.
        bottleneck_dim: width of the L2-normalised bottleneck.
        batch_norm: batch-normalise the head's hidden layers (the paper's default for ViT: no).
        teacher_temperature: τ_t > 0 of the teacher softmax (sharpening).
        student_temperature: τ_s > 0 of the student softmax.
        center_momentum: momentum of the centre's moving average, in [0, 1).
        local_crops: number of local views per image (0: the two global views only).
        local_size: side of the local views in pixels (None: the image's; smaller sides need an
            encoder that accepts any input size).
        local_scale: [low, high] area fraction of the local crops (of an augmented view).
        base_momentum: the teacher momentum at the start of training, in [0, 1).
    """

    def __init__(
        self,
        encoder,
        augmenter=None,
        out_dim: int = 256,
        head_hidden_dims=(256,),
        bottleneck_dim: int = 64,
        batch_norm: bool = False,
        teacher_temperature: float = 0.04,
        student_temperature: float = 0.1,
        center_momentum: float = 0.9,
        local_crops: int = 0,
        local_size=None,
        local_scale=(0.05, 0.4),
        base_momentum: float = 0.996,
        **kwargs,
    ):
        super().__init__(encoder, augmenter, base_momentum=base_momentum, **kwargs)
        self.out_dim = check_int("out_dim", out_dim, low=2)
        self.head_hidden_dims = check_widths("head_hidden_dims", head_hidden_dims)
        self.bottleneck_dim = check_int("bottleneck_dim", bottleneck_dim, low=1)
        self.batch_norm = check_bool("batch_norm", batch_norm)
        self.teacher_temperature = check_positive("teacher_temperature", teacher_temperature)
        self.student_temperature = check_positive("student_temperature", student_temperature)
        self.center_momentum = check_number("center_momentum", center_momentum)
        if not 0.0 <= self.center_momentum < 1.0:
            raise ArgumentError(
                "center_momentum", f"expected a momentum in [0, 1), got {center_momentum!r}. The paper uses 0.9 (1 would never move the centre)."
            )
        self.local_crops = check_int("local_crops", local_crops, low=0)
        self.local_size = None if local_size is None else check_int("local_size", local_size, low=1)
        self.local_scale = list(
            check_range_pair("local_scale", local_scale, low=0.0, high=1.0, low_inclusive=False, what="area fractions", example="[0.05, 0.4]")
        )
        self.head = MLPHead(self.head_hidden_dims, self.bottleneck_dim, batch_norm=self.batch_norm, name="head")
        self.last_layer = Prototypes(self.out_dim, name="last_layer")
        self.target_encoder = copy_network(encoder)
        self.target_head = copy_network(self.head)
        self.target_last_layer = copy_network(self.last_layer)
        self.center = self.add_weight(shape=(1, self.out_dim), initializer="zeros", trainable=False, aggregation="only_first_replica", name="center")
        self.dino_loss = DINOLoss(self.teacher_temperature, self.student_temperature)
        self.crops = MultiCrop(
            augmenter, global_crops=2, local_crops=self.local_crops, local_size=self.local_size, local_scale=self.local_scale, name="multi_crop"
        )

    def build_heads(self, input_shape):
        self.crops.build(input_shape)
        super().build_heads(input_shape)
        if self.local_crops and self.local_size is not None:
            try:  # the local views reach the encoder only while training: check now that it takes their size
                self.encoder.compute_output_spec(keras.KerasTensor((2, self.local_size, self.local_size, *input_shape[3:])))
            except ValueError as exc:
                raise ArgumentError(
                    "local_size", f"the encoder does not take {self.local_size}-pixel views ({exc}). Use local_size: null (the image size)."
                ) from None
        self.freeze_target()

    def target_pairs(self):
        return paired_weights([self.encoder, self.head, self.last_layer], [self.target_encoder, self.target_head, self.target_last_layer])

    def call(self, x, training=False):
        views = self.crops(x, training=training)
        student = []
        for group in (views[:2], views[2:]):  # the global views in one pass, the local ones in another (the paper's code: one per resolution)
            if group:
                features = self.encoder(ops.concatenate(group, axis=0), training=training)
                student.append(self.last_layer(self.head(features, training=training)))
        global_views = ops.concatenate(views[:2], axis=0)
        teacher = self.target_last_layer(self.target_head(self.target_encoder(global_views, training=training), training=training))
        outputs = ops.concatenate([*student, ops.stop_gradient(teacher)], axis=0)
        return ops.reshape(outputs, (len(views) + 2, -1, self.out_dim))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        teacher, student = y_pred[-2:], y_pred[:-2]
        loss = self.dino_loss(teacher - self.center, student)
        if training:
            self.center.assign(updated_center(self.center, all_gather(teacher, axis=1), self.center_momentum))
        return with_model_losses(self, loss)

    def get_config(self):
        return {
            **super().get_config(),
            "out_dim": self.out_dim,
            "head_hidden_dims": list(self.head_hidden_dims),
            "bottleneck_dim": self.bottleneck_dim,
            "batch_norm": self.batch_norm,
            "teacher_temperature": self.teacher_temperature,
            "student_temperature": self.student_temperature,
            "center_momentum": self.center_momentum,
            "local_crops": self.local_crops,
            "local_size": self.local_size,
            "local_scale": self.local_scale,
        }
