"""The dataset object every ``dataset`` factory returns."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from kssl.data.image_stream import ImageStream


@dataclass
class DataSplits:
    """Arrays for self-supervised training and labeled evaluation.

    ``x_train`` is what the pretext task trains on (labels are never shown to it);
    ``y_train``/``x_test``/``y_test`` are used only by evaluators (fit on the
    train split, score on the held-out test split). Images are float32 in
    [0, 1], shape (N, H, W, C); flat data (N, D); text a 1-D array of str.
    ``context`` holds extra values the builder passes to factories that name
    them (e.g. ``vocabulary_size``).

    Images may also be an :class:`kssl.data.image_stream.ImageStream` (decoded from disk as
    they are read; ``len``, ``shape`` and indexing as for the array). ``eval_limit`` caps the
    labeled samples evaluators use per split (:meth:`for_evaluation`).
    """

    x_train: np.ndarray
    y_train: np.ndarray | None = None
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    batch_size: int = 256
    class_names: list | None = None
    context: dict = field(default_factory=dict)
    eval_limit: int | None = None

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

    def for_evaluation(self, seed: int = 0) -> DataSplits:
        """These splits with at most ``eval_limit`` train and test samples each (a seeded random subset, in order).

        Evaluators embed every sample they get: on a large (streamed) dataset this bounds their
        time and the features they hold (``eval_limit`` x feature size). Without a limit, ``self``.
        """
        if self.eval_limit is None or not self.has_labels:
            return self
        rng = np.random.default_rng(seed)

        def cap(x, y):
            if len(x) <= self.eval_limit:
                return x, y
            rows = np.sort(rng.choice(len(x), self.eval_limit, replace=False))
            return (x.subset(rows) if isinstance(x, ImageStream) else x[rows]), np.asarray(y)[rows]

        x_train, y_train = cap(self.x_train, self.y_train)
        x_test, y_test = cap(self.x_test, self.y_test)
        return replace(self, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, eval_limit=None)

    def factory_context(self) -> dict:
        """Values a factory receives when its signature names them."""
        ctx = {"input_shape": self.input_shape, "batch_size": self.batch_size}
        if self.num_classes is not None:
            ctx["num_classes"] = self.num_classes
        ctx.update(self.context)
        return ctx
