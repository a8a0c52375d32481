"""``train.steps_per_epoch`` for any feeder: every epoch gets exactly its steps, however they fall across passes."""

from __future__ import annotations

import sys

import keras


class EpochSteps(keras.utils.PyDataset):
    """Exactly ``steps`` batches per epoch from the ``keras.utils.PyDataset`` ``inner``, pass after pass.

    Keras keeps its iterator across epochs when ``fit`` gets ``steps_per_epoch`` and stops an
    epoch early ("Your input ran out of data") at the end of a pass, so a count that does not
    divide one pass (or exceeds it) gives short epochs. This feeder reads ``inner`` as one
    endless stream: epoch ``e``'s batch ``i`` is batch ``(e * steps + i) mod len(inner)`` of
    pass ``(e * steps + i) // len(inner)``, and ``inner.on_epoch_end()`` (a reshuffle) runs
    whenever a pass is finished. Batches must be read in order (Keras's default single worker).
    """

    def __init__(self, inner: keras.utils.PyDataset, steps: int):
        super().__init__(workers=inner.workers, use_multiprocessing=inner.use_multiprocessing, max_queue_size=inner.max_queue_size)
        self.inner = inner
        self.steps = int(steps)
        self._epoch = 0
        self._pass = 0

    def __len__(self):
        return self.steps

    def __getitem__(self, index):
        pass_, batch = divmod(self._epoch * self.steps + index, len(self.inner))
        while self._pass < pass_:
            self.inner.on_epoch_end()
            self._pass += 1
        return self.inner[batch]

    def on_epoch_end(self):
        self._epoch += 1


def with_epoch_steps(pipeline, steps: int | None):
    """``pipeline`` (a ``keras.utils.PyDataset`` or a ``tf.data.Dataset``) fed so that each epoch has ``steps`` batches.

    ``steps`` None: ``pipeline`` as it is (an epoch is one pass). A tf.data dataset is repeated
    (its own shuffle reshuffles every pass); a PyDataset is wrapped in :class:`EpochSteps`.
    """
    if steps is None:
        return pipeline
    if isinstance(pipeline, keras.utils.PyDataset):
        return EpochSteps(pipeline, steps)
    tf = sys.modules.get("tensorflow")  # a tf.data pipeline exists only once TensorFlow is imported
    if tf is not None and isinstance(pipeline, tf.data.Dataset):
        return pipeline.repeat()
    raise TypeError(f"steps_per_epoch needs a keras.utils.PyDataset or a tf.data.Dataset to feed, got {type(pipeline).__name__}")
