"""Supervised training of an encoder with a new head: the fine-tune, and the same network from scratch."""

from __future__ import annotations

import math

import numpy as np

from kssl.checks import check_bool, check_choice, check_int, check_number, check_positive
from kssl.optimizers import OPTIMIZERS
from kssl.transfer.classifier import HEAD, classifier, copy_encoder
from kssl.transfer.labeled_batches import LabeledBatches
from kssl.transfer.precise_batch_norm import recompute_batch_norm_statistics
from kssl.transfer.scaled_learning_rate import scale_learning_rate


class FineTuner:
    """One compiled classifier (a copy of ``encoder`` + a new softmax head), trained again and again from given weights.

    Every weight trains, the encoder's at ``encoder_learning_rate_scale`` times the head's
    rate (1.0 for a network trained from scratch), with a cosine-decayed ``optimizer`` (see
    :func:`kssl.optimizers.make_optimizer`) over ``total_steps`` and sparse categorical
    cross-entropy. ``augmenter`` (a Keras layer, random when training) is applied to each
    training batch; :attr:`model`, the classifier, does not contain it.

    :meth:`fit` resets the head, the optimizer state and the encoder (to the weights it is
    given), so that one trainer (its training step compiled once) serves every label
    budget and draw of an evaluation; each fit is the same as training a new model.
    After training, BatchNorm statistics are recomputed over the labeled samples
    (:func:`~kssl.transfer.precise_batch_norm.recompute_batch_norm_statistics`): a few
    hundred steps leave BatchNorm's moving averages near their initial values.
    """

    def __init__(
        self,
        encoder,
        num_classes: int,
        total_steps: int,
        *,
        batch_size: int = 64,
        optimizer: str = "adamw",
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
        encoder_learning_rate_scale: float = 0.1,
        augmenter=None,
    ):
        import keras

        from kssl.optimizers import make_optimizer

        self.batch_size = check_int("batch_size", batch_size, low=1)
        self.encoder = copy_encoder(encoder)
        self.model = classifier(self.encoder, num_classes)
        self._trained = self.model
        if augmenter is not None:
            inputs = keras.Input(self.model.input.shape[1:], dtype=self.model.input.dtype)
            self._trained = keras.Model(inputs, self.model(augmenter(inputs)), name=f"{self.model.name}_augmented")
        self._optimizer = make_optimizer(
            type=optimizer,
            learning_rate=check_positive("learning_rate", learning_rate),
            weight_decay=check_number("weight_decay", weight_decay, low=0.0),
            schedule="cosine",
            decay_steps=check_int("total_steps", total_steps, low=1),
        )
        scale_learning_rate(self._optimizer, self.encoder.trainable_variables, encoder_learning_rate_scale)
        jit = keras.backend.backend() == "jax"  # TensorFlow on CPU runs fastest without XLA (DESIGN.md)
        self._trained.compile(optimizer=self._optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=jit)

    def fit(self, encoder_weights, x, y, *, seed: int = 0, epochs: int = 1, steps_per_epoch: int | None = None, validation_data=None, callbacks=(), verbose=0):
        """Train from ``encoder_weights`` (``encoder.get_weights()`` of a pretrained or new encoder) on ``(x, y)``.

        ``steps_per_epoch`` defaults to one pass over ``(x, y)``; the head's initial weights
        and the batch order come from ``seed``. Returns Keras's ``History``; the trained
        classifier is :attr:`model`.
        """
        import keras

        keras.utils.set_random_seed(seed)
        self.encoder.set_weights(encoder_weights)
        head = self.model.get_layer(HEAD)
        head.kernel.assign(keras.initializers.GlorotUniform(seed=seed)(head.kernel.shape))
        head.bias.assign(keras.ops.zeros(head.bias.shape, head.bias.dtype))
        for variable in self._optimizer.variables:  # moments and the step count (the schedule starts again)
            variable.assign(keras.ops.zeros(variable.shape, variable.dtype))
        batch_size = min(self.batch_size, len(x))
        steps = steps_per_epoch or math.ceil(len(x) / batch_size)
        batches = LabeledBatches(np.asarray(x), np.asarray(y).astype("int32"), batch_size, steps, seed=seed)
        # shuffle=False: the batches already come in a seeded random order; Keras would reorder them with its own RNG.
        epochs = check_int("epochs", epochs, low=1)
        history = self._trained.fit(batches, epochs=epochs, shuffle=False, validation_data=validation_data, callbacks=list(callbacks), verbose=verbose)
        recompute_batch_norm_statistics(self.model, x)
        return history


def fresh_weights(encoder, seed: int) -> list:
    """The weights of a newly initialised encoder of the same architecture (the start of training from scratch)."""
    return copy_encoder(encoder, fresh=True, seed=seed).get_weights()


def accuracy(model, x, y, batch_size: int = 256) -> float:
    """Held-out accuracy of a classifier (argmax of its probabilities against integer labels)."""
    from kssl.inference import predict

    probabilities = np.asarray(predict(model, np.asarray(x), batch_size=batch_size))
    return float(np.mean(probabilities.argmax(axis=1) == np.asarray(y).astype(int).reshape(-1)))


def check_fine_tune_options(
    *, steps=None, epochs=None, batch_size=64, optimizer="adamw", learning_rate=1e-3, weight_decay=1e-4, encoder_learning_rate_scale=0.1, augment=False
) -> dict:
    """The training options an evaluator or command passes to :class:`FineTuner`, checked (ArgumentError naming the key)."""
    options = {
        "batch_size": check_int("batch_size", batch_size, low=1),
        "optimizer": check_choice("optimizer", optimizer, OPTIMIZERS),
        "learning_rate": check_positive("learning_rate", learning_rate),
        "weight_decay": check_number("weight_decay", weight_decay, low=0.0),
        "encoder_learning_rate_scale": check_number("encoder_learning_rate_scale", encoder_learning_rate_scale, low=0.0),
        "augment": check_bool("augment", augment),
    }
    if steps is not None:
        options["steps"] = check_int("steps", steps, low=1)
    if epochs is not None:
        options["epochs"] = check_int("epochs", epochs, low=1)
    return options
