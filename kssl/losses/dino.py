"""DINO's self-distillation loss: a centred, sharpened teacher softmax as the target of the student's.

Caron, Touvron, Misra, Jégou, Mairal, Bojanowski, Joulin, "Emerging Properties in
Self-Supervised Vision Transformers", ICCV 2021 (arXiv:2104.14294), section 3.1 and Algorithm 1.
"""

from __future__ import annotations

import keras
from keras import ops


def dino_loss(teacher_logits, student_logits, teacher_temperature: float = 0.04, student_temperature: float = 0.1, center=None):
    """Per-sample DINO loss, shape (N,): the mean over view pairs of ``H(P_t, P_s)``.

    Args:
        teacher_logits: (T, N, K) the teacher's outputs of the T global views (constants: gradients stopped).
        student_logits: (V, N, K) the student's outputs of all V >= 2 views; views ``0..T-1`` are
            the teacher's global views, the rest local crops.
        teacher_temperature: τ_t of the teacher softmax (sharpening: small, e.g. 0.04).
        student_temperature: τ_s of the student softmax (e.g. 0.1).
        center: (1, K) or (K,) centre subtracted from the teacher logits (None: no centring).

    For every teacher view ``t`` and every student view ``v != t`` the term is the cross-entropy
    ``-sum_k softmax((g_t - c) / τ_t)[k] log softmax(g_s / τ_s)[k]`` (Algorithm 1's ``H``); the
    result is the mean over the ``T * V - T`` terms, as in the released code.
    """
    teacher = ops.stop_gradient(ops.cast(teacher_logits, "float32"))
    if center is not None:
        teacher = teacher - ops.stop_gradient(ops.cast(center, "float32"))
    student = ops.cast(student_logits, "float32")
    n_teacher, n_student = teacher.shape[0], student.shape[0]
    if n_teacher is None or n_student is None or n_student < 2 or n_teacher > n_student:
        raise ValueError(
            f"dino_loss needs static view counts with 1 <= teacher views <= student views and >= 2 student views, got {n_teacher} and {n_student}."
        )
    targets = ops.softmax(teacher / teacher_temperature, axis=-1)
    log_p = ops.log_softmax(student / student_temperature, axis=-1)
    total = 0.0
    for t in range(n_teacher):
        for v in range(n_student):
            if v != t:
                total = total - ops.sum(targets[t] * log_p[v], axis=-1)
    return total / float(n_teacher * n_student - n_teacher)


def updated_center(center, teacher_logits, momentum: float = 0.9):
    """``momentum * center + (1 - momentum) * mean(teacher_logits)``, shape (1, K): DINO's centre update (eq. 4).

    The mean is over every teacher view and sample of ``teacher_logits`` (T, N, K); it must be the
    global batch's (the caller gathers the replicas' rows first).
    """
    batch_center = ops.mean(ops.reshape(ops.cast(teacher_logits, "float32"), (-1, ops.shape(teacher_logits)[-1])), axis=0, keepdims=True)
    return momentum * ops.cast(center, "float32") + (1.0 - momentum) * ops.stop_gradient(batch_center)


@keras.saving.register_keras_serializable(package="kssl")
class DINOLoss(keras.losses.Loss):
    """:func:`dino_loss` as a Keras loss: ``loss(centred_teacher_logits, student_logits)``.

    The teacher logits, already centred by the caller, play the role of ``y_true``; the student's of
    ``y_pred``. Every term is per sample, so the loss needs no gather: going through
    ``keras.losses.Loss`` gives the batch mean and the per-replica scaling Keras applies under a
    distribution strategy (the centre, a batch statistic, is the method's: see :func:`updated_center`).
    """

    def __init__(self, teacher_temperature: float = 0.04, student_temperature: float = 0.1, name: str = "dino", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.teacher_temperature = teacher_temperature
        self.student_temperature = student_temperature

    def call(self, teacher_logits, student_logits):
        return dino_loss(teacher_logits, student_logits, self.teacher_temperature, self.student_temperature)

    def get_config(self):
        config = super().get_config()
        config.update(teacher_temperature=self.teacher_temperature, student_temperature=self.student_temperature)
        return config
