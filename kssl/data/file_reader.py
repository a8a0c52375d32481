"""``FileReader``: a streamed dataset's images as files on disk (a folder, a manifest)."""

from __future__ import annotations

import numpy as np

from kssl.data.stream_reader import StreamReader


class FileReader(StreamReader):
    """Image files, one sample per path; ``labels`` int32 per path or None.

    A pass is a permutation of the ids computed on the fly (``tf.random.experimental.index_shuffle``
    seeded with ``(seed, epoch)``): a true global shuffle that holds nothing in memory but the
    paths, the same order for the same epoch in every run, and exact sharding (shard ``i`` of
    ``k`` takes positions ``i, i + k, i + 2k, ...`` of the permutation, so the shards of an epoch
    are disjoint and their union is every sample but at most ``k - 1``). Files are read with
    ``tf.io.read_file`` in a parallel map.
    """

    def __init__(self, paths, labels=None):
        self.paths = np.array([str(p) for p in paths], dtype=object)
        self.labels = None if labels is None else np.asarray(labels, "int32").reshape(-1)
        if self.labels is not None and len(self.labels) != len(self.paths):
            raise ValueError(f"FileReader: {len(self.labels)} labels for {len(self.paths)} paths")

    def __len__(self) -> int:
        return len(self.paths)

    def name(self, index: int) -> str:
        return str(self.paths[int(index)])

    def read(self, indices) -> list:
        out = []
        for i in np.asarray(indices, dtype=int).reshape(-1):
            with open(self.paths[i], "rb") as f:
                out.append(f.read())
        return out

    def subset(self, indices) -> FileReader:
        indices = np.asarray(indices, dtype=int).reshape(-1)
        return FileReader(self.paths[indices], None if self.labels is None else self.labels[indices])

    def pass_dataset(self, epoch, shuffle: bool, seed: int, num_shards: int, index: int):
        import tensorflow as tf

        n, k = len(self), int(num_shards)
        paths = tf.constant(self.paths.astype(str))
        labels = tf.constant(self.labels if self.labels is not None else np.full(n, -1, "int32"))
        key = tf.stack([tf.cast(seed, tf.int64), tf.cast(epoch, tf.int64)])

        def record(j):  # one cheap map: shard position -> (shuffled) id -> path; the file is read in the decode map (load)
            i = j * k + index
            if shuffle:
                i = tf.random.experimental.index_shuffle(i, key, tf.constant(n - 1, tf.int64))
            return tf.gather(paths, i), tf.gather(labels, i)

        return tf.data.Dataset.range(self.shard_size(k)).map(record)

    def load(self, record):
        import tensorflow as tf

        return tf.io.read_file(record)
