"""The dataset object every ``dataset`` factory returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class DataSplits:
    """Arrays for self-supervised training and labeled evaluation.

    ``x_train`` is what the pretext task trains on (labels are never shown to it);
    ``y_train``/``x_test``/``y_test`` are used only by evaluators (fit on the
    train split, score on the held-out test split). Images are float32 in
    [0, 1], shape (N, H, W, C); flat data (N, D); text a 1-D array of str.
    ``context`` holds extra values the builder passes to factories that name
    them (e.g. ``vocabulary_size``).
    """

    x_train: np.ndarray
    y_train: np.ndarray | None = None
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    batch_size: int = 256
    class_names: list | None = None
    context: dict = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple:
        return tuple(int(d) for d in np.shape(self.x_train)[1:])

    @property
    def num_classes(self) -> int | None:
        if self.class_names is not None:
            return len(self.class_names)
        labels = [y for y in (self.y_train, self.y_test) if y is not None]
        if not labels:
            return None
        return int(max(int(np.max(y)) for y in labels)) + 1

    @property
    def has_labels(self) -> bool:
        return self.y_train is not None and self.x_test is not None and self.y_test is not None

    def factory_context(self) -> dict:
        """Values a factory receives when its signature names them."""
        ctx = {"input_shape": self.input_shape, "batch_size": self.batch_size}
        if self.num_classes is not None:
            ctx["num_classes"] = self.num_classes
        ctx.update(self.context)
        return ctx
