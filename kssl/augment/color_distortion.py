"""SimCLR's colour distortion: jitter, grayscale and solarisation, per sample, in ``keras.ops``."""

from __future__ import annotations

import math

import keras
from keras import ops

from kssl.checks import check_number, check_probability

_LUMA = [0.299, 0.587, 0.114]
_RGB_TO_YIQ = [[0.299, 0.596, 0.211], [0.587, -0.274, -0.523], [0.114, -0.322, 0.312]]
_YIQ_TO_RGB = [[1.0, 1.0, 1.0], [0.956, -0.272, -1.106], [0.621, -0.647, 1.703]]


def _per_sample(values):
    return ops.reshape(values, (-1, 1, 1, 1))


@keras.saving.register_keras_serializable(package="kssl")
class ColorDistortion(keras.layers.Layer):
    """Colour jitter with probability ``jitter_probability``, then grayscale with
    ``grayscale_probability``, then solarisation with ``solarize_probability``; each
    sample draws its own factors and coins.

    Strength ``s`` sets the ranges as in SimCLR (Chen et al., ICML 2020, appendix A,
    torchvision ``ColorJitter(0.8s, 0.8s, 0.8s, 0.2s)``): brightness, contrast and
    saturation factors in [1 - 0.8s, 1 + 0.8s], hue shift in [-0.2s, 0.2s] of a full
    turn (a rotation of the YIQ chroma plane). The jitter ops run in a fixed order
    (brightness, contrast, saturation, hue) rather than SimCLR's random order.
    Saturation, hue and grayscale act on 3-channel images only (no-ops for C = 1).
    Outputs are clipped to [0, 1].

    Random only when called with ``training=True``; identity otherwise.

    Args:
        strength: colour-jitter strength s in [0, 1.25] (1.25 lets brightness reach 0).
        jitter_probability: probability of applying the jitter.
        grayscale_probability: probability of converting to grayscale (RGB only).
        solarize_probability: probability of solarising (x -> 1 - x where x >= 0.5).
        seed: seed of the layer's random stream (None: random).
    """

    def __init__(
        self, strength: float = 0.5, jitter_probability: float = 0.8, grayscale_probability: float = 0.2, solarize_probability: float = 0.0, seed=None, **kwargs
    ):
        strength = check_number("strength", strength, low=0.0, high=1.25)
        jitter_probability = check_probability("jitter_probability", jitter_probability)
        grayscale_probability = check_probability("grayscale_probability", grayscale_probability)
        solarize_probability = check_probability("solarize_probability", solarize_probability)
        super().__init__(**kwargs)
        self.strength = strength
        self.jitter_probability = jitter_probability
        self.grayscale_probability = grayscale_probability
        self.solarize_probability = solarize_probability
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _factor(self, n, spread):
        return _per_sample(keras.random.uniform((n,), 1.0 - spread, 1.0 + spread, seed=self.seed_generator))

    def _coin(self, n, p):
        return _per_sample(ops.cast(keras.random.uniform((n,), seed=self.seed_generator) < p, "float32"))

    def _jitter(self, x, n, rgb):
        s = 0.8 * self.strength
        brightness, contrast = self._factor(n, s), self._factor(n, s)
        saturation = self._factor(n, s) if rgb else None
        turns = keras.random.uniform((n,), -0.2 * self.strength, 0.2 * self.strength, seed=self.seed_generator) if rgb else None
        return self.jitter(x, brightness, contrast, saturation, turns)

    @staticmethod
    def jitter(x, brightness, contrast, saturation=None, hue=None):
        """The jitter with given per-sample factors: brightness, contrast, saturation (None: skip; shape (N,) or
        (N, 1, 1, 1)) and ``hue`` shift in turns (shape (N,); None: skip). Saturation and hue need RGB images."""
        y = x * ops.reshape(brightness, (-1, 1, 1, 1))  # brightness
        mean = ops.mean(y, axis=(1, 2, 3), keepdims=True)
        y = ops.clip((y - mean) * ops.reshape(contrast, (-1, 1, 1, 1)) + mean, 0.0, 1.0)  # contrast
        if saturation is not None:
            gray = ops.sum(y * ops.convert_to_tensor(_LUMA), axis=-1, keepdims=True)
            y = ops.clip(gray + (y - gray) * ops.reshape(saturation, (-1, 1, 1, 1)), 0.0, 1.0)  # saturation
        if hue is not None:
            angle = _per_sample(ops.reshape(hue, (-1,)) * 2.0 * math.pi)[..., 0]  # (n, 1, 1)
            yiq = ops.matmul(y, ops.convert_to_tensor(_RGB_TO_YIQ))
            c, sn = ops.cos(angle), ops.sin(angle)
            i = yiq[..., 1] * c - yiq[..., 2] * sn
            q = yiq[..., 1] * sn + yiq[..., 2] * c
            y = ops.matmul(ops.stack([yiq[..., 0], i, q], axis=-1), ops.convert_to_tensor(_YIQ_TO_RGB))  # hue
        return ops.clip(y, 0.0, 1.0)

    def call(self, images, training=None):
        if not training:
            return images
        x = ops.cast(images, "float32")
        n = ops.shape(x)[0]
        rgb = images.shape[-1] == 3
        if self.jitter_probability > 0 and self.strength > 0:
            do = self._coin(n, self.jitter_probability)
            x = do * self._jitter(x, n, rgb) + (1.0 - do) * x
        if rgb and self.grayscale_probability > 0:
            gray = ops.sum(x * ops.convert_to_tensor(_LUMA), axis=-1, keepdims=True)
            do = self._coin(n, self.grayscale_probability)
            x = do * ops.repeat(gray, 3, axis=-1) + (1.0 - do) * x
        if self.solarize_probability > 0:
            do = self._coin(n, self.solarize_probability)
            x = do * ops.where(x >= 0.5, 1.0 - x, x) + (1.0 - do) * x
        return ops.cast(x, images.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            strength=self.strength,
            jitter_probability=self.jitter_probability,
            grayscale_probability=self.grayscale_probability,
            solarize_probability=self.solarize_probability,
            seed=self.seed,
        )
        return config
