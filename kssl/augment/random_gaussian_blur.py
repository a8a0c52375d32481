"""Per-sample Gaussian blur with a random sigma, as a separable filter in ``keras.ops``."""

from __future__ import annotations

import keras
from keras import ops

from kssl.checks import check_int, check_probability, check_range_pair
from kssl.errors import ArgumentError


@keras.saving.register_keras_serializable(package="kssl")
class RandomGaussianBlur(keras.layers.Layer):
    """Blur each image with probability ``probability``, with its own ``sigma ~ U(sigma)`` (pixels).

    The filter is separable: each sample gets its own normalised 1-D Gaussian
    weights, applied along width then height as a weighted sum of shifted copies of
    the reflect-padded image (pure ``keras.ops``, jit-friendly on every backend).
    As in SimCLR (Chen et al. 2020, appendix A) the default kernel is 10% of the
    image side (made odd, at least 3 taps).

    Random only when called with ``training=True``; identity otherwise.

    Args:
        probability: probability of blurring a sample.
        sigma: range ``[low, high]`` of the Gaussian's standard deviation in pixels.
        kernel_size: taps of the filter (odd), or None for 10% of the image side.
        seed: seed of the layer's random stream (None: random).
    """

    def __init__(self, probability: float = 0.5, sigma=(0.1, 2.0), kernel_size=None, seed=None, **kwargs):
        probability = check_probability("probability", probability)
        sigma = check_range_pair("sigma", sigma, low=0.0, low_inclusive=False, what="standard deviations", example="[0.1, 2.0]")
        if kernel_size is not None:
            kernel_size = check_int("kernel_size", kernel_size, low=1)
            if kernel_size % 2 == 0:
                raise ArgumentError("kernel_size", f"expected an odd number of taps (or null for 10% of the image), got {kernel_size}.")
        super().__init__(**kwargs)
        self.probability = probability
        self.sigma = list(sigma)
        self.kernel_size = kernel_size
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _taps(self, height: int, width: int) -> int:
        if self.kernel_size is not None:
            taps = self.kernel_size
        else:
            taps = 2 * (min(height, width) // 20) + 1  # 10% of the side, odd
            taps = max(taps, 3)
        # reflect padding needs radius < side
        return min(taps, 2 * (min(height, width) - 1) + 1)

    def call(self, images, training=None):
        if not training or self.probability == 0:
            return images
        n = ops.shape(images)[0]
        if self._taps(int(images.shape[1]), int(images.shape[2])) // 2 == 0:
            return images
        sigma = keras.random.uniform((n, 1), self.sigma[0], self.sigma[1], seed=self.seed_generator)
        blurred = self.blur(images, sigma)
        coin = keras.random.uniform((n,), seed=self.seed_generator) < self.probability
        do = ops.reshape(ops.cast(coin, "float32"), (-1, 1, 1, 1))
        return ops.cast(do * blurred + (1.0 - do) * ops.cast(images, "float32"), images.dtype)

    def blur(self, images, sigma):
        """Every image blurred with its own ``sigma`` (pixels, shape (N,) or (N, 1)); float32 output."""
        x = ops.cast(images, "float32")
        h, w = int(images.shape[1]), int(images.shape[2])
        r = self._taps(h, w) // 2
        k = 2 * r + 1
        if r == 0:
            return x
        sigma = ops.reshape(ops.cast(sigma, "float32"), (-1, 1))
        offsets = ops.reshape(ops.arange(-r, r + 1, dtype="float32"), (1, -1))
        weights = ops.exp(-(offsets**2) / (2.0 * sigma**2))
        weights = weights / ops.sum(weights, axis=1, keepdims=True)  # (n, k)
        padded = ops.pad(x, [[0, 0], [0, 0], [r, r], [0, 0]], mode="reflect")
        blurred = sum(ops.reshape(weights[:, i], (-1, 1, 1, 1)) * padded[:, :, i : i + w, :] for i in range(k))
        padded = ops.pad(blurred, [[0, 0], [r, r], [0, 0], [0, 0]], mode="reflect")
        return sum(ops.reshape(weights[:, i], (-1, 1, 1, 1)) * padded[:, i : i + h, :, :] for i in range(k))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(probability=self.probability, sigma=list(self.sigma), kernel_size=self.kernel_size, seed=self.seed)
        return config
