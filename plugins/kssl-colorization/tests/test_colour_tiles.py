"""The colour_tiles dataset: offline colour photographs cut into labelled tiles."""

import numpy as np
import pytest
from kssl_colorization.colour_tiles import SOURCES, colour_tiles, cut_tiles, load_source

from kssl.errors import RecipeError
from kssl.testing import build_component


def test_every_source_photograph_ships_with_its_package():
    for name in SOURCES:
        image = load_source(name)
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[-1] == 3 and min(image.shape[:2]) >= 300, name
        assert np.ptp(image.astype(int), axis=-1).mean() > 5, f"{name} is (nearly) gray"


def test_tiles_are_slices_of_the_photograph_row_by_row():
    image = np.arange(10 * 12 * 3).reshape(10, 12, 3)
    tiles = cut_tiles(image, 4, 4)
    assert tiles.shape == (2 * 3, 4, 4, 3)
    np.testing.assert_array_equal(tiles[4], image[4:8, 4:8])
    assert len(cut_tiles(image, 4, 2)) == 4 * 5


def test_labelled_tiles_of_two_photographs():
    data = colour_tiles(sources=["flower", "china"], tile_size=64, image_size=16, test_fraction=0.25)
    per_image = (427 // 64) * (640 // 64)
    assert data.class_names == ["china", "flower"]
    assert len(data.x_train) + len(data.x_test) == 2 * per_image
    assert data.x_train.shape[1:] == (16, 16, 3) and data.x_train.dtype == np.float32
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
    assert np.bincount(data.y_test).tolist() == [len(data.y_test) // 2] * 2  # stratified
    # a tile is the block mean of its 64x64 pixels: every training tile is one of the photographs' tiles, shrunk
    china = cut_tiles(load_source("china"), 64, 64).astype("float32") / 255.0
    shrunk = china.reshape(-1, 16, 4, 16, 4, 3).mean(axis=(2, 4))
    first = data.x_train[data.y_train == 0][0]
    assert np.min(np.abs(shrunk - first).reshape(len(shrunk), -1).max(axis=1)) < 1e-6


@pytest.mark.parametrize(
    "args, pattern",
    [
        ({"tile_size": 400}, r"^data\.tile_size: 400 is larger than the photograph\(s\) chelsea \(300x451\).* at most 300"),
        ({"sources": ["china", "astronot"]}, r"^data\.sources: expected one of .* got 'astronot'\. Did you mean 'astronaut'\?"),
        ({"sources": ["china", "china"]}, r"^data\.sources: expected two or more different photographs"),
        ({"sources": "china"}, r"^data\.sources: expected a list of photograph names"),
        ({"tile_size": 2}, r"^data\.tile_size: expected an integer >= 4"),
        ({"stride": 0}, r"^data\.stride: expected an integer >= 1"),
        ({"test_fraction": 1.0}, r"^data\.test_fraction: expected a number < 1"),
    ],
)
def test_bad_arguments_name_the_key(args, pattern):
    with pytest.raises(RecipeError, match=pattern):
        build_component("data", colour_tiles, args)
