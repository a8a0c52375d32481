"""``kssl new-plugin NAME --kind dataset``: an example dataset factory (synthetic oriented lines)."""

from kssl.templates.common import Scaffold, recipe

COMPONENT = '''\
"""The $name dataset (an example, synthetic lines: replace it with your data)."""

from __future__ import annotations

import numpy as np
from kssl.checks import check_int, check_number
from kssl.data import DataSplits

CLASS_NAMES = ["horizontal", "vertical", "diagonal", "antidiagonal"]


def lines(labels, image_size: int, rng) -> np.ndarray:
    """One full-length line per image, at a random offset, in the orientation of its label (0-3).

    The pixels (i, j) of a line: i = k (horizontal), j = k (vertical), j - i = k mod
    ``image_size`` (diagonal) or i + j = k mod ``image_size`` (antidiagonal), k random.
    Returns (N, image_size, image_size) float32 images of 0s and 1s.
    """
    i, j = np.meshgrid(np.arange(image_size), np.arange(image_size), indexing="ij")
    coordinate = np.stack([i, j, (j - i) % image_size, (i + j) % image_size])  # (4, S, S)
    offsets = rng.integers(0, image_size, size=len(labels))
    return (coordinate[labels] == offsets[:, None, None]).astype("float32")


def $name(
    n_samples: int = 1000,
    image_size: int = 16,
    noise: float = 0.1,
    batch_size: int = 128,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> DataSplits:
    """Grayscale images of one line each, labeled by its orientation (4 balanced classes).

    Each image is :func:`lines` plus Gaussian noise of standard deviation ``noise``,
    clipped to [0, 1]. The samples are shuffled, and the last ``round(n_samples *
    test_fraction)`` form the labeled test split. Everything is drawn from ``seed``.

    Args:
        n_samples: number of images, >= 2.
        image_size: side of the square images, >= 4.
        noise: standard deviation of the pixel noise, >= 0.
        batch_size: training batch size, >= 1.
        test_fraction: held-out fraction for evaluators, in (0, 1).
        seed: seed of the images, labels and split.
    """
    n_samples = check_int("n_samples", n_samples, low=2)
    image_size = check_int("image_size", image_size, low=4)
    noise = check_number("noise", noise, low=0.0)
    batch_size = check_int("batch_size", batch_size, low=1)
    test_fraction = check_number("test_fraction", test_fraction, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    seed = check_int("seed", seed, low=0)
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n_samples) % len(CLASS_NAMES)).astype("int32")
    x = lines(y, image_size, rng) + noise * rng.standard_normal((n_samples, image_size, image_size)).astype("float32")
    x = np.clip(x, 0.0, 1.0)[..., None]
    n_test = min(max(1, round(n_samples * test_fraction)), n_samples - 1)
    n_train = n_samples - n_test
    return DataSplits(x[:n_train], y[:n_train], x[n_train:], y[n_train:], batch_size=batch_size, class_names=list(CLASS_NAMES))
'''

TESTS = '''\
"""The $name dataset: splits, shapes and labels, its images in closed form, and its argument checks."""

import numpy as np
import pytest
from kssl.errors import RecipeError
from kssl.testing import build_component

from $package.$name import $name


def test_splits_shapes_and_labels():
    data = build_component("data", $name, {"n_samples": 50, "image_size": 8, "test_fraction": 0.2})
    assert data.x_train.shape == (40, 8, 8, 1) and data.x_test.shape == (10, 8, 8, 1)
    assert data.x_train.dtype == np.float32 and 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
    assert data.y_train.shape == (40,) and data.y_test.shape == (10,)
    assert data.has_labels and data.num_classes == 4 and data.input_shape == (8, 8, 1)
    counts = np.bincount(np.concatenate([data.y_train, data.y_test]), minlength=4)
    assert counts.tolist() == [13, 13, 12, 12]  # 50 samples, labels 0-3 in turn


def test_noiseless_images_are_lines_of_their_label():
    data = $name(n_samples=40, image_size=8, noise=0.0, seed=3)
    for image, label in zip(np.concatenate([data.x_train, data.x_test])[..., 0], np.concatenate([data.y_train, data.y_test])):
        rows, cols = np.nonzero(image)
        assert len(rows) == 8 and set(np.unique(image)) == {0.0, 1.0}
        along = [rows, cols, (cols - rows) % 8, (rows + cols) % 8][label]
        assert len(set(along)) == 1, f"label {label}: the pixels {list(zip(rows, cols))} do not lie on one such line"


def test_the_seed_fixes_the_data():
    a, b, c = $name(n_samples=20, seed=0), $name(n_samples=20, seed=0), $name(n_samples=20, seed=1)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, c.x_train)


def test_bad_argument_names_the_recipe_key():
    with pytest.raises(RecipeError, match="data.test_fraction: expected a number < 1"):
        build_component("data", $name, {"test_fraction": 1.5})
'''

RECIPE = recipe(
    "SimCLR with a small CNN on the $name dataset ($dist); offline, CPU minutes",
    name="$name-simclr",
    data="{type: $name, n_samples: 2000, image_size: 16, noise: 0.1, batch_size: 128}",
)

SCAFFOLD = Scaffold(
    kind="dataset",
    is_class=False,
    summary="images of oriented lines labeled by orientation, an example to replace with your data",
    usage="data: {type: $name, n_samples: 2000, image_size: 16, batch_size: 128}",
    develop="a factory function returning a\n  `kssl.data.DataSplits`: float32 training samples (images in [0, 1], (N, H, W, C)) and,\n  for evaluators, labels and a held-out test split.",
    recipe=RECIPE,
    smoke_overrides=("data.n_samples=160",),
    smoke_check='recipe["data"]["type"] == "$name"',
    component=COMPONENT,
    tests=TESTS,
)
