"""A linear probe on pooled text features: which class (e.g. standard-library module) a held-out text belongs to."""

from __future__ import annotations

import numpy as np

from kssl.checks import check_choice, check_int, check_positive
from kssl.errors import KsslError
from kssl.eval._labels import labeled_features
from kssl.eval.evaluator import Evaluator
from kssl.eval.linear_probe import LinearProbeEvaluator
from kssl.eval.masked_lm import check_masked_lm
from kssl.pretext.causal_lm import CausalLanguageModel

POOLINGS = ("mean", "cls")


class TextProbeEvaluator(Evaluator):
    """Logistic regression on frozen, pooled encoder features of labeled texts.

    Each text is encoded by the model's encoder and pooled over its tokens
    (``pooling: mean``, the average of the non-padding token representations, or
    ``cls``, the ``[CLS]`` token's); features are standardised with the training
    split's statistics and scikit-learn's multinomial ``LogisticRegression`` is fit
    on the training split and scored on the held-out split. Returns
    ``text_probe_accuracy`` and, for reference, ``text_probe_majority_accuracy``
    (always predicting the training split's most frequent class).

    Args:
        pooling: ``mean`` or ``cls``.
        C: inverse L2 strength of the logistic regression.
        max_iter: solver iterations.
        batch_size: texts per encoder batch.
    """

    name = "text_probe"
    requires_labels = True

    def __init__(self, pooling: str = "mean", C: float = 1.0, max_iter: int = 1000, batch_size: int = 64):
        self.pooling = check_choice("pooling", pooling, POOLINGS)
        self.C = check_positive("C", C)
        self.max_iter = check_int("max_iter", max_iter, low=1)
        self.batch_size = check_int("batch_size", batch_size, low=1)

    def get_config(self) -> dict:
        return {"pooling": self.pooling, "C": self.C, "max_iter": self.max_iter, "batch_size": self.batch_size}

    def check_model(self, model) -> None:
        """Raise :class:`kssl.KsslError` unless ``model`` is a ``masked_lm`` or ``causal_lm`` pretext model (a text model with pooled features)."""
        if isinstance(model, CausalLanguageModel):  # a GPT: hidden states averaged over the real tokens
            if self.pooling == "cls":
                raise KsslError("evaluator 'text_probe': pooling 'cls' needs a bidirectional model; a causal LM's [CLS] sees only itself. Use pooling: mean.")
            return
        check_masked_lm(
            model,
            "evaluator 'text_probe' needs a text model with pooled features (pretext masked_lm) or a causal LM (pretext causal_lm)",
            "Use linear_probe for other models.",
        )

    def evaluate(self, model, data, features=None) -> dict:
        self.check_model(model)
        train, y_train, test, y_test = labeled_features(self.name, model, data, features, self.batch_size, pooling=self.pooling)
        probe = LinearProbeEvaluator(head="logistic", C=self.C, max_iter=self.max_iter)
        predictions = probe.fit_predict(train, y_train, test)
        majority = np.bincount(y_train).argmax()
        return {
            "text_probe_accuracy": float(np.mean(predictions == y_test)),
            "text_probe_majority_accuracy": float(np.mean(y_test == majority)),
        }
