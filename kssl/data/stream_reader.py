"""``StreamReader``: where a streamed dataset's encoded images come from (files, TFRecords, ...)."""

from __future__ import annotations

import numpy as np


class StreamReader:
    """Encoded images with ids ``0 .. len-1`` in a fixed order, read one pass at a time.

    :class:`kssl.data.image_stream.ImageStream` decodes, resizes and batches what a reader
    yields; a reader only says where the bytes are. Subclass it for a new storage format
    (:class:`kssl.data.file_reader.FileReader` reads image files) and implement:

    - ``__len__``: the number of samples; ``labels``: int32 class ids in id order, or None;
    - :meth:`name`: how messages name a sample (a path, ``shard-00003.tfrecord#17``);
    - :meth:`read`: the encoded bytes of a few samples (``stream[:2]``, small subsets);
    - :meth:`pass_dataset`: one pass over one shard, as a ``tf.data.Dataset`` of
      ``(record tf.string, label tf.int32)`` (label -1 when unlabeled), where :meth:`load`
      turns a record into encoded bytes (by default the record is the bytes);
    - optionally :meth:`subset` (train/test splits, ``eval_limit``) and :meth:`shard_size`.
    """

    labels: np.ndarray | None = None

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def name(self, index: int) -> str:
        """What messages call sample ``index``."""
        return f"sample {int(index)}"

    def read(self, indices) -> list:
        """Encoded bytes (``bytes``) of the samples ``indices`` (a few; may be slow)."""
        raise NotImplementedError(f"{type(self).__name__} must implement read(indices)")

    def load(self, record):
        """The encoded image of one ``pass_dataset`` record (tf ops; runs inside the parallel decode map). Default: the record itself.

        A reader whose records only point at the bytes (a file path) reads them here, so that reading
        and decoding share one parallel map: one tf.data stage less per image (measured 1.06-1.19x images/s).
        """
        return record

    def pass_dataset(self, epoch, shuffle: bool, seed: int, num_shards: int, index: int):
        """One pass over shard ``index`` of ``num_shards``: ``tf.data.Dataset`` of ``(encoded, label)``.

        ``epoch`` is a tf.int64 scalar tensor (this is called inside ``Dataset.flat_map``). The
        order must be a deterministic function of ``(seed, epoch)`` so that a resumed run
        replays an epoch exactly; with ``shuffle`` False, id order. Every shard yields at least
        :meth:`shard_size` elements (the stream takes exactly that many, so workers stay in
        step), and the shards of one epoch are disjoint.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement pass_dataset(epoch, shuffle, seed, num_shards, index)")

    def shard_size(self, num_shards: int) -> int:
        """Samples each of ``num_shards`` shards yields per pass (the same for every shard)."""
        return len(self) // int(num_shards)

    def subset(self, indices) -> StreamReader:
        """A reader over the samples ``indices`` (in that order)."""
        raise NotImplementedError(f"{type(self).__name__} cannot select samples by id; store the train and test splits separately and leave eval_limit unset.")
