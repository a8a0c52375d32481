"""Image files (a folder, a manifest) -> :class:`DataSplits`, held in memory or streamed from disk.

``stream: auto`` streams when the decoded training images would exceed :data:`MEMORY_BOUND`
(float32 bytes: samples x size x size x channels x 4); smaller sets are read into memory once,
which is the faster path for them (no decoding per epoch). ``on_error`` decides what a file
that is not a whole image does (:func:`kssl.data.decode.check_files`).
"""

from __future__ import annotations

import numpy as np

from kssl.checks import check_choice, check_int
from kssl.data._prep import check_training_samples, split_indices
from kssl.data.decode import ON_ERROR, check_files, check_streamable
from kssl.data.image_stream import ImageStream
from kssl.data.splits import DataSplits
from kssl.errors import ArgumentError, KsslError
from kssl.progress import say

MEMORY_BOUND = 1 << 30  # 1 GiB of decoded float32 images: above it, stream: auto streams
STREAM = ("auto", True, False)


def check_stream_args(stream, on_error, eval_limit) -> None:
    """``stream`` auto/true/false, ``on_error`` skip/fail, ``eval_limit`` None or an int >= 2."""
    if stream not in STREAM or isinstance(stream, int) and not isinstance(stream, bool):
        raise ArgumentError("stream", f"expected auto, true or false, got {stream!r}.")
    check_choice("on_error", on_error, ON_ERROR)
    if eval_limit is not None:
        check_int("eval_limit", eval_limit, low=2)


def decoded_bytes(n: int, image_size: int, channels: int) -> int:
    """What ``n`` decoded float32 images take in memory."""
    return int(n) * image_size * image_size * channels * 4


def chooses_stream(stream, n: int, image_size: int, channels: int) -> bool:
    """Whether to stream ``n`` images: as asked, or (auto) when they would take more than :data:`MEMORY_BOUND` decoded."""
    if stream != "auto":
        return bool(stream)
    return decoded_bytes(n, image_size, channels) > MEMORY_BOUND


def _checked(files, labels, on_error: str, where: str):
    """Files (and their labels) that are whole images; bad ones raise (fail) or are dropped and counted (skip)."""
    good, bad = check_files(files, on_error, where)
    if not bad:
        return list(files), labels
    say(f"{where}: skipped {len(bad)} file(s) that are not whole images (on_error: skip), e.g. {str(bad[0])!r}")
    dropped = set(bad)
    keep = np.array([f not in dropped for f in files])
    return good, (None if labels is None else np.asarray(labels)[keep])


def file_splits(
    files,
    labels,
    classes,
    *,
    read,
    where: str,
    image_size: int,
    channels: int,
    batch_size: int,
    test_fraction: float,
    seed: int,
    limit,
    stream,
    on_error: str,
    eval_limit,
    test=None,
) -> DataSplits:
    """Train/test :class:`DataSplits` of image ``files`` (``labels`` int array or None, ``classes`` their names).

    ``read(files)`` reads a list of files into a float32 array (the in-memory path). ``test``,
    when given, is ``(files, labels)`` of a separate held-out set; otherwise a stratified
    ``test_fraction`` of labeled files is held out (:func:`kssl.data._prep.split_indices`),
    then ``limit`` keeps the first training samples; then the files kept are checked (``on_error``).
    """
    if test is not None:
        test_files, test_labels = test
    elif labels is not None:
        if len(files) < 2:
            raise KsslError(f"test_fraction: cannot hold out a test split from {len(files)} labeled sample(s); give at least 2.")
        train, held = split_indices(len(files), labels, test_fraction, seed)
        test_files, test_labels = [files[i] for i in held], labels[held]
        files, labels = [files[i] for i in train], labels[train]
    else:
        test_files, test_labels = [], None
    if limit is not None:
        files, labels = files[:limit], (None if labels is None else labels[:limit])
    # Checked after splitting and `limit`: only the files used are read (the split depends on the listing alone).
    files, labels = _checked(files, labels, on_error, where)
    test_files, test_labels = _checked(test_files, test_labels, on_error, where)
    check_training_samples(files, where)
    streamed = chooses_stream(stream, len(files), image_size, channels)
    if streamed:
        check_streamable([*files, *test_files], where)

    def images(paths, y):
        if streamed:
            return ImageStream.from_files(paths, y, image_size, channels, on_error)
        return read(paths)

    x_train = images(files, labels)
    x_test = images(test_files, test_labels) if labels is not None else None
    say(f"{where}: {len(files)} training images, {'streamed from disk' if streamed else 'held in memory'}")
    return DataSplits(
        x_train, labels, x_test, test_labels if labels is not None else None, batch_size=batch_size, class_names=classes or None, eval_limit=eval_limit
    )
