"""Shared preparation steps for the built-in datasets: checks, scaling, channels, resizing, splitting."""

from __future__ import annotations

import math

import keras
import numpy as np

from kssl.checks import check_choice, check_int, check_number
from kssl.errors import KsslError
from kssl.inference import map_batches


def common_args(batch_size, seed, limit, test_fraction=None):
    """Check the arguments every dataset shares (``test_fraction`` only where there is one)."""
    check_int("batch_size", batch_size, low=1)
    if test_fraction is not None:
        check_number("test_fraction", test_fraction, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    check_int("seed", seed, low=0)
    if limit is not None:
        check_int("limit", limit, low=1)


def check_image_args(image_size, channels, minimum=4):
    """``image_size`` an int >= ``minimum`` (or None: keep the size); ``channels`` 1, 3 (or None: keep)."""
    if image_size is not None:
        check_int("image_size", image_size, low=minimum)
    if channels is not None:
        check_choice("channels", channels, (1, 3))


def to_float_images(x, where: str) -> np.ndarray:
    """uint8 / integer images -> float32 in [0, 1]; float data kept; (N, H, W) gets a channel axis."""
    x = np.asarray(x)
    if x.dtype == bool or not np.issubdtype(x.dtype, np.number):
        raise KsslError(f"{where}: expected numeric arrays (uint8 images or floats), got dtype {x.dtype}. Convert the array before saving it.")
    if x.ndim == 3:
        x = x[..., None]
    if np.issubdtype(x.dtype, np.integer):
        return x.astype("float32") / 255.0
    return x.astype("float32")


def set_channels(x: np.ndarray, channels) -> np.ndarray:
    """Grayscale <-> RGB for (N, H, W, C) images; anything else is returned unchanged."""
    if channels is None or x.ndim != 4 or channels == x.shape[-1]:
        return x
    if channels == 3 and x.shape[-1] == 1:
        return np.repeat(x, 3, axis=-1)
    if channels == 1 and x.shape[-1] in (3, 4):
        return (x[..., :3] @ np.array([0.299, 0.587, 0.114], "float32"))[..., None].astype("float32")
    raise KsslError(f"channels: cannot convert images with {x.shape[-1]} channels to {channels}; use images with 1, 3 or 4 channels.")


def resize(x: np.ndarray, image_size) -> np.ndarray:
    """Bilinear resize of (N, H, W, C) float images to ``image_size`` x ``image_size`` (keras.ops, any backend)."""
    if image_size is None or x.ndim != 4 or (x.shape[1] == image_size and x.shape[2] == image_size):
        return x
    resized = map_batches(
        lambda b: keras.ops.image.resize(b, (image_size, image_size), interpolation="bilinear"), x, 512, (0, image_size, image_size, x.shape[-1])
    )
    return resized.astype("float32")  # bilinear weights are convex: no overshoot to clip


def split_indices(n: int, labels, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic (train, test) index arrays: ``ceil(test_fraction * n)`` test samples (at least 1, at most n - 1).

    Stratified by label when ``labels`` allow it (every class with two samples and room for
    every class in both splits), else a plain shuffled split. The one train/test split of
    kssl's datasets (images and texts).
    """
    from sklearn.model_selection import train_test_split

    index = np.arange(n)
    if n < 2:
        return index, index[:0]
    n_test = min(n - 1, max(1, math.ceil(n * test_fraction - 1e-9)))
    try:
        train, test = train_test_split(index, test_size=n_test, random_state=seed, stratify=labels)
    except ValueError:  # a class with one sample, or fewer test (train) samples than classes: split without stratifying
        train, test = train_test_split(index, test_size=n_test, random_state=seed)
    return np.asarray(train), np.asarray(test)


def split(x, y, test_fraction: float, seed: int):
    """Hold out ``test_fraction`` of labeled data (:func:`split_indices`).

    Unlabeled data is not split (a test split is only used by evaluators, which need labels).
    """
    if y is None:
        return x, None, None, None
    if len(x) < 2:
        raise KsslError(f"test_fraction: cannot hold out a test split from {len(x)} labeled sample(s); give at least 2.")
    train, test = split_indices(len(x), y, test_fraction, seed)
    return x[train], y[train], x[test], y[test]


def take(limit, x, y):
    """The first ``limit`` samples (all when ``limit`` is None)."""
    if limit is None:
        return x, y
    return x[:limit], (y[:limit] if y is not None else None)


def check_not_empty(x, where: str):
    if x is None or len(x) == 0:
        raise KsslError(f"{where}: the dataset is empty (0 samples). Point it at data with at least one sample.")


def encode_labels(where: str, *labels):
    """Integer class ids for each label array (None passes through) and the class names.

    Integer labels are kept (class names None); strings are mapped to sorted indices.
    """
    present = []
    for y in labels:
        if y is None:
            continue
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:  # (N, 1), as keras.datasets.cifar10 gives
            y = y.reshape(-1)
        if y.ndim != 1:
            raise KsslError(f"{where}: labels must be a 1-D array of class ids, got shape {y.shape}.")
        present.append(y)
    if not present:
        return (*labels, None)
    if all(np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating) for y in present):
        if not all(np.all(np.mod(y, 1) == 0) for y in present):
            raise KsslError(f"{where}: labels must be whole-number class ids or strings, got fractional values.")
        if any(len(y) and y.min() < 0 for y in present):
            raise KsslError(f"{where}: labels must be class ids >= 0, got a negative label. Map them to 0..K-1.")
        return (*(None if y is None else np.asarray(y).reshape(-1).astype("int32") for y in labels), None)
    names = sorted({str(v) for y in present for v in y})
    index = {n: i for i, n in enumerate(names)}
    encoded = [None if y is None else np.array([index[str(v)] for v in np.asarray(y).reshape(-1)], "int32") for y in labels]
    return (*encoded, names)
