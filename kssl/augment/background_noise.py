"""Mix each clip with a background: another clip of the batch or generated brown noise (BYOL-A's mixup, on waveforms)."""

from __future__ import annotations

import keras
from keras import ops

from kssl.augment._waveform import clip_audio, per_sample, rms
from kssl.checks import check_choice, check_probability, check_range_pair

SOURCES = ("batch", "noise")


@keras.saving.register_keras_serializable(package="kssl")
class BackgroundNoise(keras.layers.Layer):
    """``(1 - a) * clip + a * background``, ``a ~ U(ratio)``, the background scaled to the clip's RMS level.

    ``source: batch`` takes the background from another clip of the same batch (a random
    permutation), as BYOL-A's mixup does with past inputs (Niizumi et al., 2021: ratio up to
    0.4); ``source: noise`` generates brown noise (a random walk: rumble-like, energy at low
    frequencies). Each clip is mixed with probability ``probability``; the result is clipped to
    [-1, 1]. Input and output: waveforms (N, T) or (N, T, C). Random only when called with
    ``training=True``; identity otherwise. ``keras.ops`` only (TensorFlow, JAX, torch).

    Args:
        ratio: range of the background's weight ``a``, within [0, 1].
        probability: chance that a clip is mixed.
        source: ``batch`` or ``noise``.
        seed: seed of the layer's random stream (None: random).
    """

    def __init__(self, ratio=(0.0, 0.4), probability: float = 0.5, source: str = "batch", seed=None, **kwargs):
        ratio = check_range_pair("ratio", ratio, low=0.0, high=1.0, what="mixing weights", example="[0.0, 0.4]")
        probability = check_probability("probability", probability)
        source = check_choice("source", source, SOURCES)
        super().__init__(**kwargs)
        self.ratio = list(ratio)
        self.probability = probability
        self.source = source
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def background(self, x):
        """The raw background of each clip (before level matching)."""
        if self.source == "batch":
            order = keras.random.shuffle(ops.arange(ops.shape(x)[0]), seed=self.seed_generator)
            return ops.take(x, order, axis=0)
        walk = ops.cumsum(keras.random.normal(ops.shape(x), dtype=x.dtype, seed=self.seed_generator), axis=1)
        return walk - ops.mean(walk, axis=1, keepdims=True)

    def call(self, x, training=None):
        if not training:
            return x
        n = ops.shape(x)[0]
        weight = keras.random.uniform((n,), self.ratio[0], self.ratio[1], seed=self.seed_generator)
        weight = weight * ops.cast(keras.random.uniform((n,), seed=self.seed_generator) < self.probability, weight.dtype)
        back = self.background(x)
        back = back * per_sample(rms(x) / rms(back), x)
        a = per_sample(ops.cast(weight, x.dtype), x)
        return clip_audio((1.0 - a) * x + a * back)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(ratio=list(self.ratio), probability=self.probability, source=self.source, seed=self.seed)
        return config
