"""Shared preparation steps for the built-in datasets: checks, scaling, channels, resizing, splitting."""

from __future__ import annotations

import math

import keras
import numpy as np

from kssl.checks import check_choice, check_int, check_number
from kssl.errors import KsslError
from kssl.inference import map_batches

MAX_BATCH_SIZE = 1_048_576
MAX_IMAGE_SIZE = 4_096  # one 4096 x 4096 RGB float32 image is 200 MB
# Float images are documented as values in [0, 1] (kssl.data.splits.DataSplits); values beyond
# [-1, 2] are far outside it (0..255 pixels saved as floats, a corrupt file). Flat features have no
# documented range: beyond +-1e6 they overflow float32 sums of squares (1e12 each) within a batch.
IMAGE_RANGE, IMAGE_LIMITS = (0.0, 1.0), (-1.0, 2.0)
FEATURE_LIMIT = 1e6


def common_args(batch_size, seed, limit, test_fraction=None):
    """Check the arguments every dataset shares (``test_fraction`` only where there is one)."""
    check_int("batch_size", batch_size, low=1, high=MAX_BATCH_SIZE)
    if test_fraction is not None:
        check_number("test_fraction", test_fraction, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    check_int("seed", seed, low=0)
    if limit is not None:
        check_int("limit", limit, low=1)


def check_image_args(image_size, channels, minimum=4):
    """``image_size`` an int in [``minimum``, 4096] (or None: keep the size); ``channels`` 1, 3 (or None: keep)."""
    if image_size is not None:
        check_int("image_size", image_size, low=minimum, high=MAX_IMAGE_SIZE)
    if channels is not None:
        check_choice("channels", channels, (1, 3))


def to_float_images(x, where: str) -> np.ndarray:
    """uint8 / integer images -> float32 in [0, 1]; float data kept; (N, H, W) gets a channel axis."""
    x = np.asarray(x)
    if x.dtype == bool or not np.issubdtype(x.dtype, np.number):
        raise KsslError(f"{where}: expected numeric arrays (uint8 images or floats), got dtype {x.dtype}. Convert the array before saving it.")
    if x.ndim == 3:
        x = x[..., None]
    if x.dtype == np.uint8:
        return x.astype("float32") / 255.0  # in [0, 1] by construction: nothing to scan
    x = x.astype("float32") / 255.0 if np.issubdtype(x.dtype, np.integer) else x.astype("float32")
    check_values(x, where)
    return x


def check_values(x: np.ndarray, where: str) -> None:
    """Refuse NaN or infinite values, and values far outside the documented range.

    Images (N, H, W, C) are documented in [0, 1]; anything outside [-1, 2] is refused. Other
    data (e.g. flat features) must stay within +-1e6. The message counts the bad values.
    """
    finite = np.isfinite(x)
    if not finite.all():
        bad = x.size - int(np.count_nonzero(finite))
        rows = int(np.count_nonzero(~finite.reshape(len(x), -1).all(axis=1))) if len(x) else 0
        raise KsslError(
            f"{where}: {bad:,} of {x.size:,} values are NaN or infinite (in {rows:,} of {len(x):,} samples). "
            "Repair or drop those samples before training: one NaN makes the loss NaN."
        )
    if x.size == 0:
        return
    if x.ndim == 4:
        low, high = IMAGE_LIMITS
        far = int(np.count_nonzero((x < low) | (x > high)))
        if far:
            raise KsslError(
                f"{where}: {far:,} of {x.size:,} values lie far outside [{IMAGE_RANGE[0]:g}, {IMAGE_RANGE[1]:g}], the range of float "
                f"images (min {float(x.min()):.4g}, max {float(x.max()):.4g}; kssl refuses values outside [{low:g}, {high:g}]). "
                "Scale the images to [0, 1], e.g. x / 255 for 0..255 pixels, or save them as uint8."
            )
        return
    far = int(np.count_nonzero(np.abs(x) > FEATURE_LIMIT))
    if far:
        raise KsslError(
            f"{where}: {far:,} of {x.size:,} values exceed {FEATURE_LIMIT:g} in magnitude (min {float(x.min()):.4g}, max "
            f"{float(x.max()):.4g}); such values overflow float32 losses. Standardise the features (e.g. to mean 0, std 1) first."
        )


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


def check_training_samples(x, where: str):
    """At least two training samples: with one, a batch has nothing to compare (contrastive losses are 0)."""
    check_not_empty(x, where)
    if len(x) < 2:
        raise KsslError(
            f"{where}: the training split has {len(x)} sample; self-supervised training needs at least 2 "
            "(with one, every batch holds a single sample and the loss is trivially 0). Use more data, or a larger `limit`."
        )


def check_classes(y, where: str, class_names=None, fix="Give samples of two or more classes, or no labels (unlabeled data)."):
    """Labels, when given, must hold two or more classes: with one, every evaluator scores a trivial 1.0."""
    if y is None or len(y) == 0:
        return
    present = np.unique(np.asarray(y))
    if len(present) < 2:
        only = class_names[int(present[0])] if class_names else int(present[0])
        raise KsslError(f"{where}: the labels hold a single class ({only!r}, all {len(y):,} samples); evaluators would score a meaningless 1.0. {fix}")


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
