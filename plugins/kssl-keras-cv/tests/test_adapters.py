"""The keras-cv adapters: contract, in-model and tf.data use, argument errors (TensorFlow backend)."""

import os

import numpy as np
import pytest

pytest.importorskip("keras_cv", reason="keras-cv is not installed: `pip install keras-cv` to test the kssl-keras-cv adapters")

import keras  # noqa: E402
from kssl_keras_cv.keras_cv_rand_augment import KerasCVRandAugment  # noqa: E402
from kssl_keras_cv.keras_cv_random_crop_and_resize import KerasCVRandomCropAndResize  # noqa: E402

from kssl.errors import RecipeError  # noqa: E402
from kssl.testing import build_component, check_augmenter, check_pretext, tiny_images  # noqa: E402

pytestmark = pytest.mark.skipif(os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow", reason="keras-cv 0.9 runs on TensorFlow only")

ADAPTERS = [KerasCVRandAugment, KerasCVRandomCropAndResize]


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("cls", ADAPTERS, ids=lambda c: c.__name__)
def test_augmenter_contract(cls, channels, tmp_path):
    check_augmenter(cls, {"seed": 1}, x=tiny_images(4, 16, channels), tmp_path=tmp_path)


def test_crop_and_resize_keeps_the_image_when_the_crop_is_everything():
    x = tiny_images(2, 12, 1)
    layer = KerasCVRandomCropAndResize(crop_area_factor=[1.0, 1.0], aspect_ratio_factor=[1.0, 1.0], seed=0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x, training=True)), x, atol=1e-5)


@pytest.mark.parametrize("cls", ADAPTERS, ids=lambda c: c.__name__)
def test_trains_inside_a_pretext_model(cls, tmp_path):
    # Keras' train step turns AutoGraph off; keras-cv needs it: the adapter traces its own tf.function.
    from kssl.plugins import get_registry

    simclr = get_registry().get("pretext", "simclr")
    check_pretext(simclr, {"projection_dim": 8, "projection_hidden_dims": [8]}, augmenter=cls(seed=0), tmp_path=tmp_path)


def test_runs_in_tf_data():
    import tensorflow as tf

    layer = KerasCVRandAugment(seed=0)
    x = tiny_images(8, 16, 1)
    batches = [b.numpy() for b in tf.data.Dataset.from_tensor_slices(x).batch(4).map(lambda b: layer(b, training=True))]
    assert [b.shape for b in batches] == [(4, 16, 16, 1)] * 2 and all(np.isfinite(b).all() for b in batches)
    assert not np.allclose(batches[0], x[:4]) and not np.allclose(batches[1], x[4:])  # it augments: not an identity


@pytest.mark.parametrize(
    "cls, args, path",
    [
        (KerasCVRandAugment, {"magnitude": 1.5}, "augmenter.magnitude"),
        (KerasCVRandAugment, {"augmentations_per_image": 0}, "augmenter.augmentations_per_image"),
        (KerasCVRandAugment, {"geometric": "yes"}, "augmenter.geometric"),
        (KerasCVRandomCropAndResize, {"crop_area_factor": [0.5, 1.5]}, "augmenter.crop_area_factor"),
        (KerasCVRandomCropAndResize, {"interpolation": "lanczos9"}, "augmenter.interpolation"),
        (KerasCVRandAugment, {"value_range": [0, 255]}, "augmenter.value_range"),
    ],
)
def test_bad_arguments_name_the_key(cls, args, path):
    with pytest.raises(RecipeError, match=path):
        build_component("augmenter", cls, args)
