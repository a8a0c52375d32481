"""The base of evaluators that train the encoder on labels (fine-tune, label efficiency)."""

from __future__ import annotations

from kssl.errors import KsslError
from kssl.eval.evaluator import Evaluator
from kssl.transfer.fine_tuning import FineTuner, accuracy, check_fine_tune_options


class SupervisedEvaluator(Evaluator):
    """An :class:`~kssl.eval.evaluator.Evaluator` that trains copies of the encoder with a new head on labeled samples.

    Subclasses pass the training options (``steps``, ``batch_size``, ``optimizer``,
    ``learning_rate``, ``weight_decay``, ``encoder_learning_rate_scale``, ``augment``) to
    ``super().__init__``; they are checked, stored under their names and returned by
    :meth:`training_config`. The model's encoder is never changed: each run trains a copy.
    """

    requires_labels = True

    def __init__(self, steps, batch_size, optimizer, learning_rate, weight_decay, encoder_learning_rate_scale, augment):
        options = check_fine_tune_options(
            steps=steps,
            batch_size=batch_size,
            optimizer=optimizer,
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            encoder_learning_rate_scale=encoder_learning_rate_scale,
            augment=augment,
        )
        self.steps = options["steps"]
        self.batch_size = options["batch_size"]
        self.optimizer = options["optimizer"]
        self.learning_rate = options["learning_rate"]
        self.weight_decay = options["weight_decay"]
        self.encoder_learning_rate_scale = options["encoder_learning_rate_scale"]
        self.augment = options["augment"]

    def training_config(self) -> dict:
        """The training options, as stored (part of ``get_config``)."""
        return {
            "steps": self.steps,
            "batch_size": self.batch_size,
            "optimizer": self.optimizer,
            "learning_rate": self.learning_rate,
            "weight_decay": self.weight_decay,
            "encoder_learning_rate_scale": self.encoder_learning_rate_scale,
            "augment": self.augment,
        }

    def check_model(self, model) -> None:
        if len(model.encoder.inputs) != 1:
            raise KsslError(
                f"evaluator {self.name!r} trains the encoder on the dataset's samples, but this model's encoder takes "
                f"{len(model.encoder.inputs)} inputs (e.g. token ids and a padding mask). Use it with image or vector encoders."
            )
        if self.augment and model.augmenter is None:
            raise KsslError(f"evaluator {self.name!r}: augment: true needs the recipe's augmenter, but this model has none. Set augment: false.")

    def trainers(self, model, num_classes: int) -> tuple:
        """``(fine_tune, scratch)``: two :class:`~kssl.transfer.fine_tuning.FineTuner` for ``model.encoder``'s architecture.

        The first trains the encoder at ``encoder_learning_rate_scale`` times the head's rate,
        the second (for the from-scratch baseline) at the full rate; both with the same
        optimizer, steps, batch size and augmentation.
        """
        options = {
            "batch_size": self.batch_size,
            "optimizer": self.optimizer,
            "learning_rate": self.learning_rate,
            "weight_decay": self.weight_decay,
            "augmenter": model.augmenter if self.augment else None,
        }
        fine = FineTuner(model.encoder, num_classes, self.steps, encoder_learning_rate_scale=self.encoder_learning_rate_scale, **options)
        scratch = FineTuner(model.encoder, num_classes, self.steps, encoder_learning_rate_scale=1.0, **options)
        return fine, scratch

    def train_and_score(self, trainer, encoder_weights, x, y, x_test, y_test, seed: int) -> float:
        """Held-out accuracy after ``trainer`` trains from ``encoder_weights`` on ``(x, y)`` for ``steps`` steps."""
        trainer.fit(encoder_weights, x, y, seed=seed, steps_per_epoch=self.steps)
        return accuracy(trainer.model, x_test, y_test)
