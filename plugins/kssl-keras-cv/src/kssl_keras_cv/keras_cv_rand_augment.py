"""keras-cv's RandAugment as a kssl augmenter.

Cubuk, Zoph, Shlens, Le, "RandAugment: Practical automated data augmentation
with a reduced search space", NeurIPS 2020 (arXiv:1909.13719).
"""

from __future__ import annotations

import keras

from kssl.checks import check_bool, check_int, check_number, check_probability
from kssl_keras_cv._adapter import KerasCVAdapter, import_keras_cv


@keras.saving.register_keras_serializable(package="kssl_keras_cv")
class KerasCVRandAugment(KerasCVAdapter):
    """``keras_cv.layers.RandAugment`` on images in [0, 1]; random when training, identity otherwise.

    Applies ``augmentations_per_image`` operations drawn from RandAugment's set
    (auto-contrast, equalize, solarize, colour, contrast, brightness, shear,
    translate, ...), each with probability ``rate``, at strength ``magnitude``.
    Grayscale images (one channel) are expanded to RGB for keras-cv and averaged
    back. TensorFlow backend only (see the package README).

    Args:
        augmentations_per_image: operations applied to each image.
        magnitude: strength of the operations, in [0, 1].
        magnitude_stddev: per-image standard deviation of the magnitude, in [0, 1].
        rate: probability of applying each drawn operation, in [0, 1].
        geometric: include the geometric operations (shear, translate).
        seed: seed of the random streams (None: random).
    """

    registered_name = "keras_cv_rand_augment"

    def __init__(
        self,
        augmentations_per_image: int = 2,
        magnitude: float = 0.5,
        magnitude_stddev: float = 0.15,
        rate: float = 10 / 11,
        geometric: bool = True,
        seed: int | None = None,
        **kwargs,
    ):
        self.augmentations_per_image = check_int("augmentations_per_image", augmentations_per_image, low=1)
        self.magnitude = check_probability("magnitude", magnitude)
        self.magnitude_stddev = check_probability("magnitude_stddev", magnitude_stddev)
        self.rate = check_number("rate", rate, low=0.0, high=1.0)
        self.geometric = check_bool("geometric", geometric)
        self.seed = None if seed is None else check_int("seed", seed, low=0)
        super().__init__(**kwargs)

    def make_layer(self, input_shape):
        return import_keras_cv(self.registered_name).layers.RandAugment(
            value_range=(0.0, 1.0),
            augmentations_per_image=self.augmentations_per_image,
            magnitude=self.magnitude,
            magnitude_stddev=self.magnitude_stddev,
            rate=self.rate,
            geometric=self.geometric,
            seed=self.seed,
        )

    def augment(self, x):
        if x.shape[-1] != 1:
            return self.layer(x)
        rgb = self.layer(keras.ops.repeat(x, 3, axis=-1))
        return keras.ops.mean(rgb, axis=-1, keepdims=True)

    def get_config(self):
        config = super().get_config()
        config.update(
            augmentations_per_image=self.augmentations_per_image,
            magnitude=self.magnitude,
            magnitude_stddev=self.magnitude_stddev,
            rate=self.rate,
            geometric=self.geometric,
            seed=self.seed,
        )
        return config
