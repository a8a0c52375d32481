"""The SimCLR augmentation pipeline (Chen et al., "A Simple Framework for Contrastive
Learning of Visual Representations", ICML 2020, appendix A)."""

from __future__ import annotations

import keras

from kssl.augment.color_distortion import ColorDistortion
from kssl.augment.factors import AugmentationFactors, simclr_factors
from kssl.augment.random_gaussian_blur import RandomGaussianBlur
from kssl.augment.random_resized_crop import RandomResizedCrop
from kssl.checks import check_int, check_number, check_probability, check_range_pair
from kssl.errors import ArgumentError


@keras.saving.register_keras_serializable(package="kssl")
class SimCLRAugment(AugmentationFactors, keras.layers.Layer):
    """Random resized crop + flip, colour jitter, grayscale, Gaussian blur, optional solarisation.

    Random only when called with ``training=True`` (identity otherwise); each
    sample draws its own parameters. Input and output: float images (N, H, W, C)
    in [0, 1], C = 1 or 3 (saturation, hue and grayscale are no-ops for C = 1).
    Pure ``keras.ops`` with ``keras.random.SeedGenerator``, so it runs eagerly and
    inside jitted train steps on TensorFlow, JAX and torch. Defaults are the paper's.

    Args:
        crop_scale: range of the crop's area as a fraction of the image.
        crop_ratio: range of the crop's aspect ratio (sampled log-uniformly).
        flip_probability: probability of a horizontal flip.
        jitter_strength: colour-jitter strength s (brightness/contrast/saturation 0.8s, hue 0.2s).
        jitter_probability: probability of applying the colour jitter.
        grayscale_probability: probability of converting to grayscale (RGB only).
        blur_probability: probability of a Gaussian blur.
        blur_sigma: range of the blur's sigma in pixels.
        blur_kernel_size: blur taps (odd), or None for 10% of the image side as in the paper.
        solarize_probability: probability of solarisation (0, the SimCLR value, disables it).
        seed: seed of the layer's random streams (None: random).
    """

    def __init__(
        self,
        crop_scale=(0.08, 1.0),
        crop_ratio=(3 / 4, 4 / 3),
        flip_probability: float = 0.5,
        jitter_strength: float = 0.5,
        jitter_probability: float = 0.8,
        grayscale_probability: float = 0.2,
        blur_probability: float = 0.5,
        blur_sigma=(0.1, 2.0),
        blur_kernel_size=None,
        solarize_probability: float = 0.0,
        seed=None,
        **kwargs,
    ):
        # Validate under the recipe's names first, so errors read `augmenter.crop_scale: ...`.
        crop_scale = check_range_pair("crop_scale", crop_scale, low=0.0, high=1.0, low_inclusive=False, what="area fractions", example="[0.08, 1.0]")
        crop_ratio = check_range_pair("crop_ratio", crop_ratio, low=0.0, low_inclusive=False, what="aspect ratios", example="[0.75, 1.333]")
        flip_probability = check_probability("flip_probability", flip_probability)
        jitter_strength = check_number("jitter_strength", jitter_strength, low=0.0, high=1.25)
        jitter_probability = check_probability("jitter_probability", jitter_probability)
        grayscale_probability = check_probability("grayscale_probability", grayscale_probability)
        blur_probability = check_probability("blur_probability", blur_probability)
        blur_sigma = check_range_pair("blur_sigma", blur_sigma, low=0.0, low_inclusive=False, what="standard deviations", example="[0.1, 2.0]")
        if blur_kernel_size is not None:
            blur_kernel_size = check_int("blur_kernel_size", blur_kernel_size, low=1)
            if blur_kernel_size % 2 == 0:
                raise ArgumentError("blur_kernel_size", f"expected an odd number of taps (or null for 10% of the image), got {blur_kernel_size}.")
        solarize_probability = check_probability("solarize_probability", solarize_probability)
        if seed is not None:
            seed = check_int("seed", seed, low=0)
        super().__init__(**kwargs)
        self.crop_scale = list(crop_scale)
        self.crop_ratio = list(crop_ratio)
        self.flip_probability = flip_probability
        self.jitter_strength = jitter_strength
        self.jitter_probability = jitter_probability
        self.grayscale_probability = grayscale_probability
        self.blur_probability = blur_probability
        self.blur_sigma = list(blur_sigma)
        self.blur_kernel_size = blur_kernel_size
        self.solarize_probability = solarize_probability
        self.seed = seed

        def sub_seed(offset):
            return None if seed is None else seed + offset

        self.crop = RandomResizedCrop(scale=self.crop_scale, ratio=self.crop_ratio, flip_probability=flip_probability, seed=sub_seed(0), name="crop")
        self.color = ColorDistortion(
            strength=jitter_strength,
            jitter_probability=jitter_probability,
            grayscale_probability=grayscale_probability,
            solarize_probability=solarize_probability,
            seed=sub_seed(1),
            name="color",
        )
        self.blur = RandomGaussianBlur(probability=blur_probability, sigma=self.blur_sigma, kernel_size=blur_kernel_size, seed=sub_seed(2), name="blur")

    def build(self, input_shape):
        for layer in (self.crop, self.color, self.blur):
            layer.build(input_shape)
        self.built = True

    def call(self, images, training=None):
        if not training:
            return images
        x = self.crop(images, training=True)
        x = self.color(x, training=True)
        return self.blur(x, training=True)

    def compute_output_shape(self, input_shape):
        return input_shape

    def augmentation_factors(self, channels: int) -> dict:
        """Each factor alone (crop, flip, colour_jitter, grayscale, blur, solarize): :func:`kssl.augment.factors.simclr_factors`."""
        return simclr_factors(self, channels)

    def get_config(self):
        config = super().get_config()
        config.update(
            crop_scale=list(self.crop_scale),
            crop_ratio=list(self.crop_ratio),
            flip_probability=self.flip_probability,
            jitter_strength=self.jitter_strength,
            jitter_probability=self.jitter_probability,
            grayscale_probability=self.grayscale_probability,
            blur_probability=self.blur_probability,
            blur_sigma=list(self.blur_sigma),
            blur_kernel_size=self.blur_kernel_size,
            solarize_probability=self.solarize_probability,
            seed=self.seed,
        )
        return config
