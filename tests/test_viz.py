"""Image grids (PNG) and TensorBoard image logging."""

import numpy as np
import pytest
from PIL import Image

from kssl.viz import image_grid, is_image_batch, log_images, save_image_grid


def test_grid_places_each_image_with_padding():
    images = np.stack([np.full((2, 3), v) for v in (0.0, 0.2, 0.4, 0.6, 1.0)])  # 5 grey 2x3 images
    grid = image_grid(images, ncols=2, padding=1, pad_value=0.5)
    assert grid.dtype == np.uint8 and grid.shape == (3 * 3 + 1, 2 * 4 + 1, 1)
    assert grid[0, 0, 0] == 128 and grid[:, 0].min() == 128  # border
    np.testing.assert_array_equal(grid[1:3, 1:4, 0], 0)  # image 0, row 0 col 0
    np.testing.assert_array_equal(grid[1:3, 5:8, 0], 51)  # image 1, row 0 col 1: 0.2 * 255
    np.testing.assert_array_equal(grid[4:6, 1:4, 0], 102)  # image 2, row 1 col 0
    np.testing.assert_array_equal(grid[7:9, 1:4, 0], 255)  # image 4, row 2 col 0
    np.testing.assert_array_equal(grid[7:9, 5:8, 0], 128)  # the empty cell keeps the padding value


def test_grid_scales_clips_and_keeps_colour():
    rgb = np.zeros((1, 2, 2, 3), "float32")
    rgb[0, 0, 0] = [1.0, 0.0, 2.0]  # 2.0 is clipped to 255
    rgb[0, 1, 1] = [np.nan, -1.0, 0.5]  # NaN -> 0, negatives -> 0
    grid = image_grid(rgb, ncols=4, padding=0, scale=3)
    assert grid.shape == (6, 6, 3)
    np.testing.assert_array_equal(grid[:3, :3], np.broadcast_to([255, 0, 255], (3, 3, 3)))
    np.testing.assert_array_equal(grid[3:, 3:], np.broadcast_to([0, 0, 128], (3, 3, 3)))
    as_uint8 = (np.arange(8, dtype=np.uint8) * 30).reshape(2, 2, 2, 1)
    np.testing.assert_array_equal(image_grid(as_uint8, ncols=2, padding=0)[..., 0], np.hstack([as_uint8[0, ..., 0], as_uint8[1, ..., 0]]))


def test_bad_inputs_raise_value_error():
    assert is_image_batch(np.zeros((2, 4, 4))) and not is_image_batch(np.zeros((2, 16)))
    with pytest.raises(ValueError, match="expected images"):
        image_grid(np.zeros((2, 16)))
    with pytest.raises(ValueError, match="no images"):
        image_grid(np.zeros((0, 4, 4, 1)))
    with pytest.raises(ValueError, match="ncols"):
        image_grid(np.zeros((2, 4, 4, 1)), ncols=0)


def test_save_image_grid_writes_a_png(tmp_path):
    images = np.random.default_rng(0).uniform(size=(10, 8, 8, 1))
    path = save_image_grid(images, tmp_path / "sub" / "grid.png", ncols=5, padding=2, scale=2)
    assert path == tmp_path / "sub" / "grid.png" and not list(path.parent.glob(".*tmp"))
    with Image.open(path) as picture:
        assert picture.format == "PNG" and picture.mode == "L" and picture.size == (5 * 18 + 2, 2 * 18 + 2)
        np.testing.assert_array_equal(np.asarray(picture), image_grid(images, ncols=5, padding=2, scale=2)[..., 0])
    with Image.open(save_image_grid(np.ones((2, 4, 4, 3)), tmp_path / "rgb.png")) as picture:
        assert picture.mode == "RGB"


def test_log_images_writes_a_tensorboard_image(tmp_path):
    tf = pytest.importorskip("tensorflow")
    images = np.random.default_rng(0).uniform(size=(6, 4, 4, 1))
    assert log_images(tmp_path, "demo/grid", images, step=3, ncols=3, padding=1)
    assert log_images(tmp_path, "demo/each", images, step=0, as_grid=False)
    found = {}
    for event_file in tmp_path.glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            for value in event.summary.value:
                found[value.tag] = (event.step, tf.make_ndarray(value.tensor))
    step, tensor = found["demo/grid"]
    assert step == 3
    width, height = int(tensor[0]), int(tensor[1])
    assert (width, height) == (3 * 5 + 1, 2 * 5 + 1)  # one grid picture
    decoded = tf.io.decode_png(tensor[2]).numpy()
    np.testing.assert_array_equal(decoded, image_grid(images, ncols=3, padding=1))
    assert len(found["demo/each"][1]) == 2 + 6  # width, height, then one PNG per image
