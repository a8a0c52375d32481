"""``ImageStream``: images read from disk in a parallel tf.data pipeline, memory independent of the dataset's size."""

from __future__ import annotations

import contextlib

import numpy as np

from kssl.checks import check_choice, check_int
from kssl.data.decode import ON_ERROR, decode_resize
from kssl.data.file_reader import FileReader
from kssl.data.stream_reader import StreamReader
from kssl.errors import KsslError

_FOREVER = 2**62  # epochs of a repeating stream


class ImageStream:
    """Images that are decoded when read, for datasets too large to hold in memory.

    Stands where a float32 array (N, H, W, C) would stand in :class:`kssl.data.splits.DataSplits`:
    ``len``, ``shape``, ``ndim``, ``dtype`` and indexing (``stream[:2]``, ``stream[rows]``) behave as
    for the array, decoding only the selected samples. Training and embedding use
    :meth:`dataset`, a ``tf.data`` pipeline:

    ids (a per-epoch permutation, this worker's shard) -> read bytes -> decode + resize to uint8
    (``num_parallel_calls=AUTOTUNE``) -> batch (uint8) -> float32 in [0, 1] (one batched map) -> prefetch.

    Nothing decoded is kept: memory is a few batches (``batch_size`` x prefetch depth) whatever
    the dataset's size. Order is deterministic (``deterministic=True``): the same seed and epoch
    give the same batches, which resume (:meth:`dataset`'s ``first_epoch``) and reproducibility
    rely on; AUTOTUNE still decodes in parallel, only out-of-order delivery is given up.

    Args:
        reader: where the encoded images come from (:class:`~kssl.data.stream_reader.StreamReader`).
        image_size: every image is resized to ``image_size`` x ``image_size``.
        channels: 1 (grayscale) or 3 (RGB).
        on_error: ``fail`` (an image that cannot be decoded stops the run with a message naming
            it) or ``skip`` (dropped from its batch; TensorFlow logs a warning).
    """

    dtype = np.dtype("float32")
    ndim = 4

    def __init__(self, reader: StreamReader, image_size: int, channels: int = 3, on_error: str = "fail"):
        self.reader = reader
        self.image_size = check_int("image_size", image_size, low=1)
        self.channels = check_choice("channels", channels, (1, 3))
        self.on_error = check_choice("on_error", on_error, ON_ERROR)

    @classmethod
    def from_files(cls, paths, labels=None, image_size: int = 32, channels: int = 3, on_error: str = "fail") -> ImageStream:
        """A stream of image files (checked beforehand by :func:`kssl.data.decode.check_files` where it matters)."""
        return cls(FileReader(paths, labels), image_size, channels, on_error)

    # -- the array-like surface ---------------------------------------------------------
    def __len__(self) -> int:
        return len(self.reader)

    @property
    def shape(self) -> tuple:
        return (len(self), self.image_size, self.image_size, self.channels)

    @property
    def labels(self):
        return self.reader.labels

    def __repr__(self) -> str:
        return f"ImageStream({len(self)} images, {self.image_size}x{self.image_size}x{self.channels}, {type(self.reader).__name__})"

    def __getitem__(self, key) -> np.ndarray:
        """The selected samples decoded: float32 in [0, 1], (n, H, W, C) (an int gives (H, W, C))."""
        if isinstance(key, (int, np.integer)):
            return self[np.array([int(key)])][0]
        rows = np.arange(len(self))[key] if isinstance(key, slice) else np.asarray(key).reshape(-1)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        return self._decode(rows.astype(int))

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """Every sample decoded (``np.asarray(stream)``): for code that needs an array; bounded by ``eval_limit`` in evaluators."""
        return self[:] if dtype is None else self[:].astype(dtype)

    def subset(self, indices) -> ImageStream:
        """A stream of the samples ``indices`` (train/test splits, evaluation caps)."""
        return ImageStream(self.reader.subset(indices), self.image_size, self.channels, self.on_error)

    def _decode(self, rows: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        if len(rows) == 0:
            return np.zeros((0, *self.shape[1:]), "float32")
        if len(rows) > 64 and self.on_error == "fail":  # many rows (a monitor's sample, a label budget): the parallel pipeline
            with contextlib.suppress(NotImplementedError):
                subset = self.subset(rows)
                return np.concatenate([np.asarray(b) for b in subset.dataset(256, shuffle=False)], axis=0)
        encoded = self.reader.read(rows)
        images = []
        for i, data in zip(rows, encoded):
            try:
                images.append(decode_resize(tf.constant(data), self.image_size, self.channels).numpy())
            except tf.errors.OpError as exc:
                raise KsslError(f"data: cannot decode image {self.reader.name(i)!r} ({exc.message.splitlines()[0]}). Remove or replace the file.") from None
        return np.stack(images).astype("float32") / 255.0

    # -- the pipeline -----------------------------------------------------------------------
    def steps_per_epoch(self, batch_size: int, num_shards: int = 1, drop_remainder: bool = False) -> int:
        """Batches one pass of one shard gives."""
        n = self.reader.shard_size(num_shards)
        return n // batch_size if drop_remainder else -(-n // batch_size)

    def dataset(
        self,
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        repeat: bool = False,
        shard: tuple | None = None,
        first_epoch: int = 0,
        skip_batches: int = 0,
        dtype: str = "float32",
        with_labels: bool = False,
        drop_remainder: bool = False,
    ):
        """A ``tf.data.Dataset`` of batches (images, or ``(images, labels)`` with ``with_labels``).

        Args:
            batch_size: samples per batch (per worker when sharded).
            shuffle: a new permutation every epoch, a function of ``(seed, epoch)`` only.
            repeat: False: one pass (epoch ``first_epoch``); True: endless, epoch after epoch,
                batches never straddling two epochs (give ``fit`` :meth:`steps_per_epoch`).
            shard: ``(num_shards, index)``: this worker's disjoint part of every epoch (None: all).
            first_epoch, skip_batches: where to start: epoch ``first_epoch``, after its first
                ``skip_batches`` batches (a resumed run; the skipped samples are not decoded).
            dtype: ``float32`` (values in [0, 1]) or ``uint8`` (0..255, for a model that scales itself).
            drop_remainder: drop each epoch's last, partial batch (even splits over replicas).
        """
        import tensorflow as tf

        check_choice("dtype", dtype, ("float32", "uint8"))
        num_shards, index = shard or (1, 0)
        per_pass = self.reader.shard_size(num_shards)
        size, channels, skip, start = self.image_size, self.channels, int(skip_batches) * int(batch_size), int(first_epoch)

        def decode(record, label):
            return decode_resize(self.reader.load(record), size, channels), label

        def one_pass(epoch):
            records = self.reader.pass_dataset(epoch, shuffle, seed, num_shards, index).take(per_pass)
            records = records.skip(tf.where(epoch == start, tf.constant(skip, tf.int64), 0))
            images = records.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
            if self.on_error == "skip":
                images = images.ignore_errors(log_warning=True)
            return images.batch(batch_size, drop_remainder=drop_remainder)

        end = _FOREVER if repeat else start + 1
        batches = tf.data.Dataset.range(start, end).flat_map(one_pass)

        def finish(images, labels):
            if dtype == "float32":  # the one conversion, on whole batches: everything before it moves uint8, 4x less
                images = tf.cast(images, tf.float32) / 255.0
            return (images, labels) if with_labels else images

        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF  # sharded above, by id
        batches = batches.map(finish, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        if not repeat and self.on_error == "fail":  # a known length: Keras's predict and progress bars stop exactly at the end
            whole, rest = divmod(max(0, per_pass - skip), batch_size)
            batches = batches.apply(tf.data.experimental.assert_cardinality(whole + (0 if drop_remainder or not rest else 1)))
        return batches.prefetch(tf.data.AUTOTUNE).with_options(options)
