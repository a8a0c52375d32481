"""The ``tfrecord`` dataset: images packed by ``kssl data pack`` (sharded TFRecord files), streamed through ``ImageStream``."""

from __future__ import annotations

import numpy as np

from kssl.data._prep import check_classes, check_image_args, check_training_samples, common_args, split_indices
from kssl.data.file_splits import check_stream_args, chooses_stream
from kssl.data.image_stream import ImageStream
from kssl.data.splits import DataSplits
from kssl.data.tfrecord_reader import TFRecordReader
from kssl.errors import KsslError
from kssl.progress import say


def _image_size(reader: TFRecordReader) -> int:
    """The packed images' size hint (the larger side of the median image)."""
    return int(max(reader.index.get("image_size") or [32]))


def _in_memory(stream: ImageStream, batch_size: int) -> np.ndarray:
    """Every image of ``stream`` decoded (in order) into one float32 array, through the parallel pipeline."""
    if len(stream) == 0:
        return np.zeros((0, *stream.shape[1:]), "float32")
    x = np.concatenate(list(stream.dataset(batch_size, shuffle=False).as_numpy_iterator()))
    if len(x) != len(stream):  # on_error: skip dropped some: the images would no longer match their labels
        raise KsslError(f"data: {len(stream) - len(x)} packed image(s) could not be decoded; pack the folder again (`kssl data pack` checks every image).")
    return x


def tfrecord(
    path: str,
    image_size: int | None = None,
    channels: int = 3,
    test_path: str | None = None,
    batch_size: int = 256,
    test_fraction: float = 0.2,
    seed: int = 0,
    limit: int | None = None,
    stream="auto",
    on_error: str = "fail",
    eval_limit: int | None = None,
) -> DataSplits:
    """Images packed into TFRecord shards by ``kssl data pack FOLDER PATH`` (``PATH/index.json`` and ``part-*.tfrecord``).

    Args:
        path: the packed folder.
        image_size: every image is resized (antialiased bilinear) to this square size; default:
            the larger side of the packed images' median size (``index.json``).
        channels: 1 (grayscale) or 3 (RGB).
        test_path: a second packed folder with the same classes, held out for the evaluators;
            without it a stratified ``test_fraction`` of labeled records is held out (read by
            filtering the same shards).
        stream: ``auto`` (stream when the decoded training images would exceed 1 GiB), ``true``,
            or ``false`` (decode every image into memory once).
        on_error, eval_limit, batch_size, test_fraction, seed, limit: as for ``image_folder``
            (``limit`` keeps the first records in stored order, a random sample: the packer
            shuffles them).
    """
    check_image_args(image_size, channels)
    common_args(batch_size, seed, limit, test_fraction)
    check_stream_args(stream, on_error, eval_limit)
    reader = TFRecordReader(path, key="data.path")
    where = f"data.path {str(path)!r}"
    size = image_size or _image_size(reader)
    classes = list(reader.index.get("classes") or [])
    check_classes(reader.labels, where, classes or None, "Pack a folder with two or more class sub-folders, or one without labels.")
    if test_path is not None:
        test = TFRecordReader(test_path, key="data.test_path")
        if list(test.index.get("classes") or []) != classes:
            raise KsslError(
                f"data.test_path: classes {test.index.get('classes')} differ from those of data.path {classes}; "
                "pack both from folders with the same class sub-folders."
            )
        train = reader
    elif reader.labels is not None:
        if len(reader) < 2:
            raise KsslError(f"test_fraction: cannot hold out a test split from {len(reader)} labeled sample(s); give at least 2.")
        train_ids, test_ids = split_indices(len(reader), reader.labels, test_fraction, seed)
        train, test = reader.subset(np.sort(train_ids)), reader.subset(np.sort(test_ids))
    else:
        train, test = reader, None
    if limit is not None and limit < len(train):
        train = train.subset(np.arange(limit))
    check_training_samples(train.ids, where)
    streamed = chooses_stream(stream, len(train), size, channels)
    x_train = ImageStream(train, size, channels, on_error)
    x_test = None if test is None or train.labels is None else ImageStream(test, size, channels, on_error)
    if not streamed:
        x_train = _in_memory(x_train, batch_size)
        x_test = None if x_test is None else _in_memory(x_test, batch_size)
    say(f"{where}: {len(train)} training images from {len(reader.files)} TFRecord shard(s), {'streamed' if streamed else 'held in memory'}")
    has_test = x_test is not None
    return DataSplits(
        x_train,
        train.labels if has_test else None,
        x_test,
        test.labels if has_test else None,
        batch_size=batch_size,
        class_names=classes or None,
        eval_limit=eval_limit,
    )
