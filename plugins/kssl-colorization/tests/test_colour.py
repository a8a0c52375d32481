"""Colour conversion, ab bins and the colorization loss, against scikit-image and independent numpy code."""

import keras
import numpy as np
import pytest
from kssl_colorization.colorization_loss import ColorizationLoss, colorization_loss, soft_encode
from kssl_colorization.lab import ab_bins, luminance_rgb, rgb_to_lab
from skimage.color import rgb2lab

from kssl.errors import ArgumentError
from kssl.testing import assert_round_trip


def _np(t):
    return np.asarray(keras.ops.convert_to_numpy(t))


def test_rgb_to_lab_matches_scikit_image():
    rng = np.random.default_rng(0)
    rgb = rng.uniform(size=(4, 9, 9, 3)).astype("float32")
    rgb[0, 0, :3] = [[0, 0, 0], [1, 1, 1], [0.02, 0.03, 0.01]]  # black, white, the linear segments of sRGB and of f(t)
    rgb[0, 1, :3] = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    np.testing.assert_allclose(_np(rgb_to_lab(rgb)), rgb2lab(rgb.astype("float64")), atol=2e-3)


def test_luminance_is_the_lightness_in_three_equal_channels():
    rgb = np.random.default_rng(1).uniform(size=(3, 5, 5, 3)).astype("float32")
    gray = _np(luminance_rgb(rgb))
    assert gray.shape == rgb.shape
    np.testing.assert_allclose(gray, np.repeat(rgb2lab(rgb.astype("float64"))[..., :1] / 100.0, 3, axis=-1), atol=2e-5)


def test_ab_bins_are_the_in_gamut_grid_points():
    bins = ab_bins(10.0)
    assert bins.shape == (261, 2) and bins.dtype == np.float32
    np.testing.assert_array_equal(np.mod(bins, 10.0), 0.0)
    assert [0.0, 0.0] in bins.tolist() and np.abs(bins).max() <= 110.0
    # every colour of a random sample rounds to a bin
    ab = rgb2lab(np.random.default_rng(2).uniform(size=(1, 2000, 3)))[0, :, 1:]
    nearest = {tuple(p) for p in (np.round(ab / 10.0) * 10.0).tolist()}
    assert nearest <= {tuple(p) for p in bins.tolist()}


def _numpy_soft_encode(ab, centres, k, sigma):
    """Independent reference: for each colour, the k nearest centres by sorting, Gaussian weights, normalised."""
    flat = ab.reshape(-1, 2).astype("float64")
    out = np.zeros((len(flat), len(centres)))
    for i, colour in enumerate(flat):
        d = np.sqrt(((centres - colour) ** 2).sum(axis=1))
        near = np.argsort(d, kind="stable")[:k]
        w = np.exp(-(d[near] ** 2) / (2 * sigma**2))
        out[i, near] = w / w.sum()
    return out.reshape(*ab.shape[:-1], len(centres))


def test_soft_encoding_matches_numpy():
    centres = ab_bins(10.0)
    ab = np.random.default_rng(3).uniform(-60, 60, size=(2, 3, 3, 2)).astype("float32")
    np.testing.assert_allclose(_np(soft_encode(ab, centres, 5, 5.0)), _numpy_soft_encode(ab, centres, 5, 5.0), atol=1e-6)


def test_loss_matches_numpy_cross_entropy():
    centres = ab_bins(10.0)
    rng = np.random.default_rng(4)
    ab = rng.uniform(-50, 50, size=(3, 2, 2, 2)).astype("float32")
    logits = rng.normal(size=(3, 2, 2, len(centres))).astype("float32")
    targets = _numpy_soft_encode(ab, centres, 5, 5.0)
    log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    expected = -(targets * log_probs).sum(axis=-1).reshape(3, -1).mean(axis=1)
    np.testing.assert_allclose(_np(colorization_loss(ab, logits, centres)), expected, rtol=1e-5)
    loss = ColorizationLoss()
    assert float(_np(loss(ab, logits))) == pytest.approx(expected.mean(), rel=1e-5)


def test_closed_forms_uniform_logits_and_a_colour_on_a_bin():
    centres = ab_bins(10.0)
    ab = np.array([[[[20.0, -30.0]]]], "float32")
    uniform = np.zeros((1, 1, 1, len(centres)), "float32")
    assert float(_np(colorization_loss(ab, uniform, centres))[0]) == pytest.approx(np.log(len(centres)), rel=1e-6)
    # one neighbour: a one-hot target, so the loss is -log softmax at that bin
    logits = np.random.default_rng(5).normal(size=(1, 1, 1, len(centres))).astype("float32")
    index = int(np.flatnonzero((centres == [20.0, -30.0]).all(axis=1))[0])
    log_p = logits[0, 0, 0] - np.log(np.exp(logits[0, 0, 0]).sum())
    assert float(_np(colorization_loss(ab, logits, centres, neighbours=1))[0]) == pytest.approx(-log_p[index], rel=1e-5)


def test_the_loss_round_trips_and_checks_its_arguments():
    restored = assert_round_trip(ColorizationLoss(bin_size=20.0, neighbours=3, sigma=4.0))
    assert (restored.bin_size, restored.neighbours, restored.sigma) == (20.0, 3, 4.0)
    for args, name in (({"bin_size": 0}, "bin_size"), ({"neighbours": 0}, "neighbours"), ({"sigma": float("nan")}, "sigma")):
        with pytest.raises(ArgumentError, match=f"^{name}:"):
            ColorizationLoss(**args)
