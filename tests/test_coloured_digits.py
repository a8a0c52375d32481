"""The coloured_digits dataset: colour a nuisance (label: digit) or the label (label: colour), deterministic, checked."""

import colorsys

import numpy as np
import pytest

from kssl.data.coloured_digits import colour_names, coloured_digits, hsv_to_rgb
from kssl.data.splits import DataSplits
from kssl.errors import ArgumentError


def _stroke_colours(x):
    """(N, 3) colour of each image's brightest pixel (the tint: pixel = grey * colour, grey max = 1 at native size)."""
    flat = x.reshape(len(x), -1, 3)
    brightest = flat.sum(-1).argmax(1)
    return flat[np.arange(len(x)), brightest]


def _hues(x):
    return np.array([colorsys.rgb_to_hsv(*c)[0] for c in _stroke_colours(x)])


def _digit_of(x):
    """Which sklearn digit each (8x8, native size) coloured image shows: the nearest grey image, both scaled to max 1."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    grey = bunch.images.reshape(len(bunch.images), -1)
    grey = grey / grey.max(1, keepdims=True)
    strokes = x.max(-1).reshape(len(x), -1)
    strokes = strokes / strokes.max(1, keepdims=True)
    distance = (strokes**2).sum(1)[:, None] - 2 * strokes @ grey.T + (grey**2).sum(1)[None]
    assert np.sqrt(np.maximum(distance.min(1), 0)).max() < 1e-3  # each image is one of the digits, exactly
    return bunch.target[distance.argmin(1)]


def test_hsv_to_rgb_matches_colorsys():
    rng = np.random.default_rng(0)
    h, s, v = rng.uniform(size=(3, 200))
    expected = np.array([colorsys.hsv_to_rgb(*a) for a in zip(h, s, v)])
    np.testing.assert_allclose(hsv_to_rgb(h, s, v), expected, atol=1e-6)


def test_digit_label_colour_is_a_random_hue_independent_of_the_digit():
    data = coloured_digits(label="digit", image_size=8, test_fraction=0.25)
    assert isinstance(data, DataSplits) and data.class_names == [str(i) for i in range(10)]
    assert data.x_train.shape[1:] == (8, 8, 3) and data.x_train.dtype == np.float32
    assert len(data.x_train) + len(data.x_test) == 1797
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
    np.testing.assert_array_equal(_digit_of(data.x_train[:200]), data.y_train[:200])  # the label is the digit
    hues = _hues(data.x_train)
    for digit in range(10):  # every digit comes in every colour: hue spread over the circle within each class
        counts = np.histogram(hues[data.y_train == digit], bins=4, range=(0, 1))[0]
        assert counts.min() > 0.1 * counts.sum(), (digit, counts)


def test_colour_label_is_the_hue_class_and_the_digit_is_random():
    data = coloured_digits(label="colour", num_colours=4, image_size=8)
    assert data.class_names == ["red", "chartreuse", "cyan", "violet"] and data.num_classes == 4
    for x, y in ((data.x_train, data.y_train), (data.x_test, data.y_test)):
        hue = _hues(x)
        circular = np.minimum(np.abs(hue - y / 4), 1 - np.abs(hue - y / 4))
        assert circular.max() < 0.01  # the label is the colour
    digits = _digit_of(data.x_train)
    for k in range(4):  # and every digit appears in every colour class
        assert set(digits[data.y_train == k]) == set(range(10))


def test_deterministic_given_the_seed_and_different_across_seeds():
    a, b, c = (coloured_digits(image_size=8, seed=s, limit=100) for s in (0, 0, 1))
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, c.x_train)


def test_image_size_limit_and_names():
    data = coloured_digits(label="colour", num_colours=6, image_size=16, limit=50, batch_size=8)
    assert data.x_train.shape == (50, 16, 16, 3) and data.batch_size == 8
    assert colour_names(6) == ["red", "yellow", "green", "cyan", "blue", "magenta"]
    assert colour_names(5)[1] == "yellow-72" and len(set(colour_names(12))) == 12


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"label": "color"}, "label"),
        ({"num_colours": 1}, "num_colours"),
        ({"num_colours": 13}, "num_colours"),
        ({"image_size": 4}, "image_size"),
        ({"limit": 0}, "limit"),
    ],
)
def test_argument_errors_name_the_argument(kwargs, argument):
    with pytest.raises(ArgumentError) as info:
        coloured_digits(**kwargs)
    assert info.value.argument == argument


def test_registered_and_loaded_through_a_recipe(tiny_recipe):
    from kssl.builder import build_inputs
    from kssl.recipe import load_recipe

    tiny_recipe["data"] = {"type": "coloured_digits", "label": "colour", "image_size": 8, "limit": 64}
    data, _ = build_inputs(load_recipe(tiny_recipe))
    assert data.x_train.shape == (64, 8, 8, 3) and data.num_classes == 4
