"""keras-cv's RandomCropAndResize as a kssl augmenter (the "random resized crop" of Inception and SimCLR)."""

from __future__ import annotations

import keras

from kssl.checks import check_choice, check_int, check_range_pair
from kssl_keras_cv._adapter import KerasCVAdapter, import_keras_cv

INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area")


@keras.saving.register_keras_serializable(package="kssl_keras_cv")
class KerasCVRandomCropAndResize(KerasCVAdapter):
    """``keras_cv.layers.RandomCropAndResize`` back to the input size; random when training, identity otherwise.

    Crops a random region whose area is ``crop_area_factor`` of the image and whose
    aspect ratio is ``aspect_ratio_factor``, then resizes it to the input's height
    and width (so the output has the input's shape). TensorFlow backend only.

    Args:
        crop_area_factor: [low, high] fraction of the image area to keep, within (0, 1].
        aspect_ratio_factor: [low, high] aspect ratio (width / height) of the crop.
        interpolation: resize method, one of bilinear, nearest, bicubic, area.
        seed: seed of the random streams (None: random).
    """

    registered_name = "keras_cv_random_crop_and_resize"

    def __init__(
        self,
        crop_area_factor=(0.08, 1.0),
        aspect_ratio_factor=(3 / 4, 4 / 3),
        interpolation: str = "bilinear",
        seed: int | None = None,
        **kwargs,
    ):
        self.crop_area_factor = list(check_range_pair("crop_area_factor", crop_area_factor, low=1e-6, high=1.0))
        self.aspect_ratio_factor = list(check_range_pair("aspect_ratio_factor", aspect_ratio_factor, low=1e-6))
        self.interpolation = check_choice("interpolation", interpolation, INTERPOLATIONS)
        self.seed = None if seed is None else check_int("seed", seed, low=0)
        super().__init__(**kwargs)

    def make_layer(self, input_shape):
        height, width = input_shape[1], input_shape[2]
        if height is None or width is None:
            raise ValueError(f"{self.registered_name} needs images of a known size, got shape {tuple(input_shape)}.")
        return import_keras_cv(self.registered_name).layers.RandomCropAndResize(
            target_size=(int(height), int(width)),
            crop_area_factor=tuple(self.crop_area_factor),
            aspect_ratio_factor=tuple(self.aspect_ratio_factor),
            interpolation=self.interpolation,
            seed=self.seed,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            crop_area_factor=list(self.crop_area_factor),
            aspect_ratio_factor=list(self.aspect_ratio_factor),
            interpolation=self.interpolation,
            seed=self.seed,
        )
        return config
