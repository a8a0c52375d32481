"""Sharded TFRecord files of encoded images, and the ``index.json`` that describes them.

A packed folder holds ``part-00000.tfrecord``, ``part-00001.tfrecord``, ... and ``index.json``.
Each record is a ``tf.train.Example`` with three features:

* ``image``: the image file's bytes as stored (JPEG, PNG, ...), not decoded and not re-encoded
  unless the packer was asked to;
* ``label``: int64, the class index (``-1`` for an unlabeled image);
* ``path``: the image's path relative to the packed folder (UTF-8), for tracing a record back.

``index.json`` (``FORMAT``, ``VERSION``) gives ``count``, ``classes`` (``[]`` when unlabeled),
``class_counts``, ``image_size`` (the median ``[height, width]``: a hint, images keep their own
sizes), ``channels`` (hint), ``skipped`` and ``reencoded`` counts, and ``shards``: a list of
``{"file", "count", "bytes"}`` in writing order. ``records.npz`` beside it holds, per record in
stored order (shard by shard), ``labels`` (int32, -1 unlabeled) and ``offsets`` (the record's byte
offset in its shard), so labels are known without reading the shards and a few records can be
read directly (:func:`read_record_at`). TensorFlow is imported only when records are
written or read, never by importing this module.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from kssl.errors import KsslError

__all__ = [
    "FORMAT",
    "INDEX",
    "RECORDS",
    "VERSION",
    "ShardWriter",
    "examples",
    "parse_records",
    "read_index",
    "read_record_at",
    "read_records",
    "shard_paths",
    "write_index",
    "write_records",
]

FORMAT, VERSION, INDEX, RECORDS = "kssl-tfrecord-shards", 1, "index.json", "records.npz"
SHARD_PATTERN = "part-{:05d}.tfrecord"


def _tf():
    import tensorflow as tf

    return tf


def _feature_spec():
    tf = _tf()
    return {
        "image": tf.io.FixedLenFeature([], tf.string),
        "label": tf.io.FixedLenFeature([], tf.int64, default_value=-1),
        "path": tf.io.FixedLenFeature([], tf.string, default_value=""),
    }


def serialize_example(image: bytes, label: int | None, path: str) -> bytes:
    """One record: the encoded ``image`` bytes, ``label`` (``None`` -> -1) and the relative ``path``."""
    tf = _tf()
    feature = {
        "image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[image])),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[-1 if label is None else int(label)])),
        "path": tf.train.Feature(bytes_list=tf.train.BytesList(value=[path.encode("utf-8")])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


class ShardWriter:
    """Writes records into ``part-NNNNN.tfrecord`` files in ``folder``, starting a new shard at a limit.

    A shard is closed when it holds ``shard_size`` records, or when adding the next record
    would take it past ``shard_bytes`` (a shard always gets at least one record). ``shards``
    lists ``{"file", "count", "bytes"}`` of the shards written so far (the open one included
    once :meth:`close` is called).
    """

    def __init__(self, folder, shard_size: int | None = None, shard_bytes: int | None = None):
        if (shard_size is None) == (shard_bytes is None):
            raise ValueError("give exactly one of shard_size and shard_bytes")
        self.folder = Path(folder)
        self.shard_size, self.shard_bytes = shard_size, shard_bytes
        self.shards: list[dict] = []
        self.offsets: list[int] = []  # each record's byte offset in its shard, in writing order
        self._writer = None
        self._current: dict | None = None

    def _full(self, size: int) -> bool:
        cur = self._current
        if cur is None:
            return True
        if self.shard_size is not None:
            return cur["count"] >= self.shard_size
        return cur["count"] > 0 and cur["bytes"] + size > self.shard_bytes

    def add(self, image: bytes, label: int | None, path: str) -> None:
        record = serialize_example(image, label, path)
        size = len(record) + 16  # TFRecord framing: length, two CRCs
        if self._full(size):
            self._close_current()
            name = SHARD_PATTERN.format(len(self.shards))
            self._writer = _tf().io.TFRecordWriter(str(self.folder / name))
            self._current = {"file": name, "count": 0, "bytes": 0}
        self._writer.write(record)
        self.offsets.append(self._current["bytes"])
        self._current["count"] += 1
        self._current["bytes"] += size

    def _close_current(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self.shards.append(self._current)
            self._writer, self._current = None, None

    def close(self) -> list[dict]:
        self._close_current()
        return self.shards


def write_index(folder, index: dict) -> Path:
    """Write ``index.json`` (``format`` and ``version`` are added) into ``folder``."""
    path = Path(folder) / INDEX
    body = {"format": FORMAT, "version": VERSION, **index}
    path.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    return path


def write_records(folder, labels, offsets) -> Path:
    """Write ``records.npz`` (per record: ``labels`` int32 with -1 for none, ``offsets`` int64) into ``folder``."""
    path = Path(folder) / RECORDS
    with open(path, "wb") as f:
        np.savez(f, labels=np.asarray(labels, np.int32), offsets=np.asarray(offsets, np.int64))
    return path


def read_records(folder, index: dict, key: str = "data.path") -> tuple[np.ndarray, np.ndarray]:
    """``(labels, offsets)`` of every record of a packed folder, in stored order (checked against ``index``)."""
    folder = Path(str(folder)).expanduser()
    try:
        with np.load(folder / RECORDS) as z:
            labels, offsets = z["labels"], z["offsets"]
    except (OSError, KeyError, ValueError) as exc:
        raise _bad(key, folder, f"has no readable {RECORDS} ({exc}).") from None
    if len(labels) != index["count"] or len(offsets) != index["count"]:
        raise _bad(key, folder, f"has a {RECORDS} of {len(labels)} records, but its {INDEX} counts {index['count']}.")
    return labels, offsets


def read_record_at(file, offset: int) -> tuple[bytes, int | None, str]:
    """``(image bytes, label or None, path)`` of the record at byte ``offset`` of a shard file (no TFRecord scan)."""
    with open(file, "rb") as f:
        f.seek(int(offset))
        (length,) = struct.unpack("<Q", f.read(8))
        f.read(4)  # the length's CRC
        example = _tf().train.Example.FromString(f.read(length))
    feature = example.features.feature
    label = int(feature["label"].int64_list.value[0])
    return bytes(feature["image"].bytes_list.value[0]), (None if label < 0 else label), feature["path"].bytes_list.value[0].decode("utf-8")


def _bad(key: str, folder: Path, what: str) -> KsslError:
    return KsslError(f"{key}: {str(folder)!r} {what} Pack an image folder into shards with `kssl data pack FOLDER {folder}`.")


def read_index(folder, key: str = "data.path") -> dict:
    """The checked ``index.json`` of a packed folder; a missing or inconsistent one is a ``KsslError`` naming ``key``."""
    folder = Path(str(folder)).expanduser()
    if not folder.is_dir():
        raise _bad(key, folder, "is not a folder of TFRecord shards (no such folder).")
    path = folder / INDEX
    if not path.is_file():
        raise _bad(key, folder, f"has no {INDEX}, so it is not a folder written by `kssl data pack`.")
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad(key, folder, f"has an unreadable {INDEX} ({exc}).") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise _bad(key, folder, f"has an {INDEX} that is not a kssl shard index (format {FORMAT!r} expected).")
    if index.get("version") != VERSION:
        raise _bad(key, folder, f"was packed with index version {index.get('version')!r}; this kssl reads version {VERSION}.")
    shards = index.get("shards")
    well_formed = lambda s: isinstance(s, dict) and isinstance(s.get("file"), str) and type(s.get("count")) is int
    if not isinstance(shards, list) or not shards or not all(map(well_formed, shards)):
        raise _bad(key, folder, f"has an {INDEX} without a list of shards.")
    missing = [s["file"] for s in shards if not (folder / s["file"]).is_file()]
    if missing:
        raise _bad(key, folder, f"lacks {len(missing)} shard file(s) its {INDEX} lists, e.g. {missing[0]!r}; copy the whole folder.")
    if sum(s["count"] for s in shards) != index.get("count"):
        raise _bad(key, folder, f"has an {INDEX} whose shard counts do not add up to its count {index.get('count')!r}.")
    return index


def shard_paths(folder, index: dict | None = None, *, num_workers: int = 1, worker_index: int = 0, key: str = "data.path") -> list[str]:
    """The shard files of ``folder`` in index order; with ``num_workers`` > 1, worker ``worker_index``'s share (every n-th file).

    Sharding is by files, so each worker reads whole files and never a record another reads;
    fewer files than workers is an error (pack with a smaller ``--shard-size``).
    """
    folder = Path(str(folder)).expanduser()
    index = read_index(folder, key) if index is None else index
    files = [str(folder / s["file"]) for s in index["shards"]]
    if num_workers > len(files):
        raise KsslError(
            f"{key}: {str(folder)!r} has {len(files)} shard file(s), fewer than the {num_workers} input workers that each need whole files; "
            "pack it again with a smaller --shard-size or --shard-mb."
        )
    return files[worker_index::num_workers]


def parse_records(records):
    """A tf.data map function: serialized records (a scalar or a batch) -> ``{"image", "label", "path"}``."""
    tf = _tf()
    if records.shape.rank == 0:
        return tf.io.parse_single_example(records, _feature_spec())
    return tf.io.parse_example(records, _feature_spec())


def examples(folder, key: str = "data.path"):
    """Every record of a packed folder in stored order, as Python ``(image bytes, label or None, path)`` (for tests and tools)."""
    tf = _tf()
    files = shard_paths(folder, key=key)
    for rec in tf.data.TFRecordDataset(files).map(parse_records).as_numpy_iterator():
        label = int(rec["label"])
        yield bytes(rec["image"]), (None if label < 0 else label), rec["path"].decode("utf-8")
