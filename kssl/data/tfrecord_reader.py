"""``TFRecordReader``: a streamed dataset's encoded images from sharded TFRecord files (``kssl data pack``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kssl.data.stream_reader import StreamReader
from kssl.data.tfrecord_shards import parse_records, read_index, read_record_at, read_records, shard_paths

SHUFFLE_BYTES = 32 << 20  # a shuffled block holds about this many encoded bytes (not decoded images)
MIN_BUFFER, MAX_BUFFER = 256, 8192
CYCLE = 8  # shard files read at once (interleaved) when shuffling


class TFRecordReader(StreamReader):
    """The records of a packed folder; sample ids are the stored order (shard by shard), or a subset of it.

    A pass reads whole shard files. With several workers (``num_shards`` > 1) each reads its
    own files (``files[index::num_shards]``), so no record is read twice; when there are fewer
    files than workers, every worker reads every file and keeps the ids ``id % num_shards ==
    index``. With ``shuffle``, a pass reads its files in an order drawn from ``(seed, epoch)``,
    ``CYCLE`` files interleaved in parallel, then shuffled in blocks of encoded records (about
    ``SHUFFLE_BYTES`` each, a stateless permutation per block): not a global permutation (records are already stored in a random order
    by ``kssl data pack``), but the same for the same ``(seed, epoch)`` in every run. Without
    ``shuffle``, files and records in stored order (the order of ``labels``).
    A subset (:meth:`subset`, train/test splits) still reads whole files and drops the records
    it does not hold before decoding.
    """

    def __init__(self, folder, ids=None, key: str = "data.path", _loaded=None):
        self.folder, self.key = Path(str(folder)).expanduser(), key
        if _loaded is None:
            index = read_index(self.folder, key)
            stored_labels, offsets = read_records(self.folder, index, key)
            _loaded = (index, shard_paths(self.folder, index, key=key), stored_labels, offsets)
        self.index, self.files, self._stored_labels, self._offsets = _loaded
        counts = np.array([s["count"] for s in self.index["shards"]], "int64")
        self._starts = np.concatenate([[0], np.cumsum(counts)])
        self.ids = np.arange(self.index["count"], dtype="int64") if ids is None else np.asarray(ids, "int64").reshape(-1)
        if len(self.ids) and (np.any(np.diff(self.ids) <= 0) or self.ids[0] < 0 or self.ids[-1] >= self.index["count"]):
            raise ValueError("TFRecordReader: ids must be increasing record ids (a pass reads records in stored order)")
        labeled = bool(self.index.get("classes")) or bool(np.any(self._stored_labels >= 0))
        self.labels = self._stored_labels[self.ids].astype("int32") if labeled else None

    def __len__(self) -> int:
        return len(self.ids)

    def _shard_of(self, record_ids) -> np.ndarray:
        return np.searchsorted(self._starts, record_ids, side="right") - 1

    def name(self, index: int) -> str:
        rid = int(self.ids[int(index)])
        shard = int(self._shard_of(rid))
        return f"{Path(self.files[shard]).name}#{rid - int(self._starts[shard])}"

    def read(self, indices) -> list:
        out = []
        for i in np.asarray(indices, dtype=int).reshape(-1):
            rid = int(self.ids[i])
            out.append(read_record_at(self.files[int(self._shard_of(rid))], self._offsets[rid])[0])
        return out

    def subset(self, indices) -> TFRecordReader:
        indices = np.asarray(indices, dtype=int).reshape(-1)
        return TFRecordReader(self.folder, self.ids[indices], self.key, (self.index, self.files, self._stored_labels, self._offsets))

    def _by_files(self, num_shards: int) -> bool:
        return len(self.files) >= num_shards

    def _per_worker(self, num_shards: int) -> np.ndarray:
        """How many of this reader's ids each of ``num_shards`` workers reads in a pass."""
        if self._by_files(num_shards):
            per_file = np.bincount(self._shard_of(self.ids), minlength=len(self.files))
            return np.array([per_file[w::num_shards].sum() for w in range(num_shards)])
        return np.bincount(self.ids % num_shards, minlength=num_shards)

    def shard_size(self, num_shards: int) -> int:
        return int(self._per_worker(int(num_shards)).min())

    def _buffer(self) -> int:
        mean = sum(s.get("bytes", 0) for s in self.index["shards"]) / max(1, self.index["count"])
        return int(np.clip(SHUFFLE_BYTES // max(mean, 1), MIN_BUFFER, MAX_BUFFER))

    def pass_dataset(self, epoch, shuffle: bool, seed: int, num_shards: int, index: int):
        import tensorflow as tf

        k, index = int(num_shards), int(index)
        files = np.arange(len(self.files))
        if self._by_files(k):
            files = files[index::k]
        keep = np.zeros(self.index["count"], bool)
        keep[self.ids] = True
        if not self._by_files(k):
            keep &= np.arange(self.index["count"]) % k == index
        filtered = not keep[self._starts[files[0]] : self._starts[files[-1] + 1]].all() if self._by_files(k) else True
        names = tf.constant([self.files[i] for i in files])
        starts = tf.constant(self._starts[files])
        key = tf.stack([tf.cast(seed, tf.int64), tf.cast(epoch, tf.int64)])
        order = tf.range(len(files))
        if shuffle:
            order = tf.random.experimental.stateless_shuffle(order, seed=key)

        def records(i):
            shard = tf.data.TFRecordDataset(tf.gather(names, i))
            if not filtered:  # every record of these files: no per-record id needed
                return shard
            start, keep_t = tf.gather(starts, i), tf.constant(keep)
            return shard.enumerate().filter(lambda j, _: tf.gather(keep_t, j + start)).map(lambda _, r: r)

        source = tf.data.Dataset.from_tensor_slices(order)
        if shuffle:
            cycle = min(CYCLE, len(files))
            stream = source.interleave(records, cycle_length=cycle, block_length=1, num_parallel_calls=cycle, deterministic=True)
        else:
            stream = source.flat_map(records)  # stored order: the order of ``labels``

        def parse(serialized):
            parsed = parse_records(serialized)
            return parsed["image"], tf.cast(parsed["label"], tf.int32)

        if not shuffle:
            return stream.batch(64).map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).unbatch()

        def permute(block, serialized):  # a stateless shuffle of each block (Dataset.shuffle takes no tensor seed under a global seed)
            perm = tf.random.experimental.stateless_shuffle(tf.range(tf.shape(serialized)[0]), seed=tf.stack([key[0] * 1_000_003 + key[1], block]))
            return parse(tf.gather(serialized, perm))

        return stream.batch(self._buffer()).enumerate().map(permute, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).unbatch()
