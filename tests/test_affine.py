"""The affine augmenter (random shifts and rotations): contract, geometry against closed forms, errors, JAX."""

import keras
import numpy as np
import pytest
from jax_subprocess import augmenter_fit_script, run_on_jax

from kssl.augment.random_affine import RandomAffine
from kssl.errors import ArgumentError
from kssl.testing import check_augmenter


def _dot(n=64, size=16, row=7, col=8):
    """Images holding a single lit pixel (far enough from the border that shifts keep it inside)."""
    x = np.zeros((n, size, size, 1), "float32")
    x[:, row, col, 0] = 1.0
    return x


def _centre_of_mass(images):
    images = np.asarray(images)[..., 0]
    rows, cols = np.mgrid[: images.shape[1], : images.shape[2]]
    mass = images.sum(axis=(1, 2))
    return (images * rows).sum(axis=(1, 2)) / mass, (images * cols).sum(axis=(1, 2)) / mass


def test_contract_random_when_training_identity_otherwise_round_trip(tmp_path):
    x = np.random.default_rng(0).random((4, 8, 8, 1), dtype=np.float32)
    check_augmenter(RandomAffine, {"translation": 0.125, "rotation": 10, "seed": 0}, x=x, tmp_path=tmp_path)


def test_shift_moves_the_mass_by_at_most_the_translation():
    size, factor = 16, 0.125  # up to 2 pixels
    x = _dot(size=size)
    shifted = keras.ops.convert_to_numpy(RandomAffine(translation=factor, rotation=0, seed=0)(x, training=True))
    np.testing.assert_allclose(shifted.sum(axis=(1, 2, 3)), 1.0, atol=1e-4)  # bilinear shifts keep the mass
    rows, cols = _centre_of_mass(shifted)
    d_row, d_col = rows - 7, cols - 8
    limit = factor * size + 1e-3
    assert np.abs(d_row).max() <= limit and np.abs(d_col).max() <= limit
    assert np.abs(d_row).max() > 0.5 and np.abs(d_col).max() > 0.5  # it does shift, along both axes
    assert np.std(d_row) > 0.1  # each sample draws its own shift


def test_rotation_keeps_the_distance_to_the_centre_and_bounds_the_angle():
    size, degrees = 16, 20.0
    x = _dot(size=size, row=3, col=7)
    centre = (size - 1) / 2.0
    rotated = keras.ops.convert_to_numpy(RandomAffine(translation=0, rotation=degrees, seed=1)(x, training=True))
    rows, cols = _centre_of_mass(rotated)
    radius0 = np.hypot(3 - centre, 7 - centre)
    radius = np.hypot(rows - centre, cols - centre)
    np.testing.assert_allclose(radius, radius0, atol=0.35)  # interpolation blurs the dot, not its distance
    angle0 = np.arctan2(3 - centre, 7 - centre)
    turned = np.degrees(np.angle(np.exp(1j * (np.arctan2(rows - centre, cols - centre) - angle0))))
    assert np.abs(turned).max() <= degrees + 2.0
    assert np.abs(turned).max() > degrees / 4  # it does rotate


@pytest.mark.parametrize(
    "kwargs, argument",
    [({"translation": 1.5}, "translation"), ({"translation": -0.1}, "translation"), ({"rotation": 200}, "rotation"), ({"rotation": "ten"}, "rotation")],
)
def test_bad_arguments_name_the_argument(kwargs, argument):
    with pytest.raises(ArgumentError, match=argument):
        RandomAffine(**kwargs)


def test_registered_as_affine():
    from kssl.plugins import get_registry

    assert get_registry().get("augmenter", "affine") is RandomAffine


JAX_CHECK = (
    "import numpy as np, keras\nassert keras.backend.backend() == 'jax'\nfrom kssl.augment.random_affine import RandomAffine\n"
) + augmenter_fit_script('RandomAffine(translation=0.125, rotation=10, seed=0, name="aug")', channels=1)


def test_in_a_jitted_jax_train_step():
    run_on_jax(JAX_CHECK)
