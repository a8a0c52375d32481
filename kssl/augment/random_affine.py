"""Small random translations and rotations: the augmentation of DEC-DA (Guo et al., ACML 2018) for digit-like images."""

from __future__ import annotations

import keras

from kssl.augment.factors import AugmentationFactors, affine_factors
from kssl.checks import check_number


@keras.saving.register_keras_serializable(package="kssl")
class RandomAffine(AugmentationFactors, keras.layers.Layer):
    """Shift each image by up to ``translation`` of its side and rotate it by up to ``rotation`` degrees.

    Each sample draws its own shift (height and width independently, uniform in
    ``[-translation, translation]`` of the side) and angle (uniform in
    ``[-rotation, rotation]`` degrees); pixels moved in from outside are 0 and
    values are interpolated bilinearly. Built from Keras 3's own
    ``RandomTranslation`` and ``RandomRotation`` layers, so it runs inside the
    train step on TensorFlow, JAX and torch. Unlike crops and colour changes it
    keeps the whole digit in view, which is what small (8x8) images need.

    Random only when called with ``training=True``; identity otherwise.

    Args:
        translation: largest shift as a fraction of the image side (0 disables it);
            0.125 is one pixel of an 8x8 image.
        rotation: largest rotation in degrees (0 disables it).
        seed: seed of the layer's random streams (None: random).
    """

    def __init__(self, translation: float = 0.1, rotation: float = 10.0, seed=None, **kwargs):
        translation = check_number("translation", translation, low=0.0, high=1.0)
        rotation = check_number("rotation", rotation, low=0.0, high=180.0)
        super().__init__(**kwargs)
        self.translation = translation
        self.rotation = rotation
        self.seed = seed
        self.shift = None
        self.rotate = None
        if translation > 0:
            self.shift = keras.layers.RandomTranslation(translation, translation, fill_mode="constant", seed=seed, name="shift")
        if rotation > 0:
            rotate_seed = None if seed is None else seed + 1
            self.rotate = keras.layers.RandomRotation(rotation / 360.0, fill_mode="constant", seed=rotate_seed, name="rotate")

    def build(self, input_shape):
        for layer in (self.shift, self.rotate):
            if layer is not None:
                layer.build(input_shape)
        self.built = True

    def call(self, images, training=None):
        if not training:
            return images
        x = images
        if self.shift is not None:
            x = self.shift(x, training=True)
        if self.rotate is not None:
            x = self.rotate(x, training=True)
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def augmentation_factors(self, channels: int) -> dict:
        """Each factor alone (translation, rotation): :func:`kssl.augment.factors.affine_factors`."""
        return affine_factors(self, channels)

    def get_config(self):
        config = super().get_config()
        config.update(translation=self.translation, rotation=self.rotation, seed=self.seed)
        return config
