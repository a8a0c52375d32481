"""Multi-crop: the views it returns, its resizing against numpy, its size checks, its config; SwAV and DINO use it."""

import keras
import numpy as np
import pytest

from kssl.augment.multi_crop import MultiCrop
from kssl.augment.random_resized_crop import RandomResizedCrop
from kssl.errors import ArgumentError
from kssl.testing import tiny_encoder, tiny_images


def _np(value):
    return np.asarray(keras.ops.convert_to_numpy(value))


def test_global_and_local_views_of_two_sizes():
    x = tiny_images(3, 16)
    layer = MultiCrop(keras.layers.GaussianNoise(0.2, seed=0), global_crops=2, local_crops=3, local_size=8, seed=0)
    views = layer(x, training=True)
    assert [tuple(v.shape) for v in views] == [(3, 16, 16, 1)] * 2 + [(3, 8, 8, 1)] * 3
    assert not np.allclose(_np(views[0]), _np(views[1]))  # independently augmented
    assert not np.allclose(_np(views[2]), _np(views[3]))  # independently cropped
    plain = layer(x, training=False)  # inference: the images, global views only
    assert len(plain) == 2 and all(np.array_equal(_np(v), x) for v in plain)
    assert layer.compute_output_shape((3, 16, 16, 1)) == [(3, 16, 16, 1)] * 2 + [(3, 8, 8, 1)] * 3


def test_resizing_is_bilinear_sampling_at_pixel_centres():
    # A crop of the whole image (scale = ratio = 1) to half the side: each output pixel samples the input at
    # 2 i + 0.5, the mean of a 2 x 2 block; the same layer with size None is the identity.
    x = tiny_images(2, 8, 3)
    half = RandomResizedCrop(scale=(1.0, 1.0), ratio=(1.0, 1.0), flip_probability=0.0, size=4)
    expected = x.reshape(2, 4, 2, 4, 2, 3).mean(axis=(2, 4))
    np.testing.assert_allclose(_np(half(x, training=True)), expected, atol=1e-6)
    np.testing.assert_allclose(_np(half(x, training=False)), expected, atol=1e-6)
    same = RandomResizedCrop(scale=(1.0, 1.0), ratio=(1.0, 1.0), flip_probability=0.0)
    np.testing.assert_allclose(_np(same(x, training=True)), x, atol=1e-6)
    # Global views resized without a crop of their own.
    views = MultiCrop(global_crops=1, global_size=4)(x, training=True)
    np.testing.assert_allclose(_np(views[0]), expected, atol=1e-6)


def test_local_crops_are_regions_of_the_image():
    # A constant image stays constant under any crop; a ramp's crop spans a narrower range than the image.
    flat = np.full((2, 16, 16, 1), 0.3, "float32")
    local = MultiCrop(global_crops=1, local_crops=1, local_scale=(0.05, 0.2), local_size=8, seed=1)(flat, training=True)[1]
    np.testing.assert_allclose(_np(local), 0.3, atol=1e-6)
    ramp = np.tile(np.linspace(0.0, 1.0, 16, dtype="float32")[None, None, :, None], (4, 16, 1, 1))
    local = _np(MultiCrop(global_crops=1, local_crops=1, local_scale=(0.05, 0.2), seed=1)(ramp, training=True)[1])
    assert (local.max(axis=(1, 2, 3)) - local.min(axis=(1, 2, 3)) < 0.75).all()


@pytest.mark.parametrize("key", ["global_size", "local_size"])
def test_a_crop_larger_than_the_image_names_the_key_at_build(key):
    layer = MultiCrop(local_crops=1, **{key: 17})
    with pytest.raises(ArgumentError, match=rf"^{key}: expected a crop side of at most the image's 16 pixels, got 17"):
        layer.build((None, 16, 16, 1))
    MultiCrop(local_crops=1, **{key: 16}).build((None, 16, 16, 1))  # the image's size is fine


@pytest.mark.parametrize(
    "args, key",
    [
        ({"global_crops": 0}, "global_crops"),
        ({"local_crops": -1}, "local_crops"),
        ({"local_size": 0}, "local_size"),
        ({"local_scale": [0.0, 0.4]}, "local_scale"),
        ({"global_scale": [0.5, 0.2]}, "global_scale"),
    ],
)
def test_bad_arguments_name_the_key(args, key):
    with pytest.raises(ArgumentError, match=f"^{key}: "):
        MultiCrop(**args)


def test_config_round_trip_with_the_nested_augmenter():
    from kssl.augment.simclr_augment import SimCLRAugment

    layer = MultiCrop(
        SimCLRAugment(blur_probability=0.0, seed=3), global_crops=2, local_crops=4, local_size=8, global_scale=[0.4, 1.0], local_scale=[0.1, 0.3], seed=5
    )
    config = layer.get_config()
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(again) is MultiCrop and again.get_config() == config
    assert isinstance(again.augmenter, SimCLRAugment) and again.augmenter.seed == 3 and again.augmenter.blur_probability == 0.0
    assert (again.local_crops, again.local_size, again.global_scale, again.local_scale, again.seed) == (4, 8, [0.4, 1.0], [0.1, 0.3], 5)


def test_swav_and_dino_make_their_views_with_it():
    from kssl.pretext.dino import DINO
    from kssl.pretext.swav import SwAV

    noise = keras.layers.GaussianNoise(0.1)
    swav = SwAV(tiny_encoder(), noise, n_small_crops=2, small_crop_scale=[0.2, 0.5])
    dino = DINO(tiny_encoder(), noise, local_crops=3, local_size=8, local_scale=[0.1, 0.3])
    assert isinstance(swav.crops, MultiCrop) and (swav.crops.local_crops, swav.crops.local_scale, swav.crops.augmenter) == (2, [0.2, 0.5], noise)
    assert isinstance(dino.crops, MultiCrop) and (dino.crops.global_crops, dino.crops.local_crops, dino.crops.local_size) == (2, 3, 8)
