"""Per-clip random time crop, brought back to the clip's length by zero padding or resampling."""

from __future__ import annotations

import keras
from keras import ops

from kssl.checks import check_choice, check_range_pair

FITS = ("pad", "resize")


@keras.saving.register_keras_serializable(package="kssl")
class RandomTimeCrop(keras.layers.Layer):
    """Keep a random stretch of each clip: ``L = s * T`` samples, ``s ~ U(scale)``, at a uniform random start.

    ``fit: pad`` puts the stretch at the start of the output and fills the rest with zeros
    (silence; the sound keeps its pitch and speed); ``fit: resize`` stretches it back to T
    samples by linear interpolation (slower and lower-pitched, as a tape played slowly).
    Input and output: waveforms (N, T) or (N, T, C) with a known T. Random only when called
    with ``training=True``; identity otherwise. ``keras.ops`` only (TensorFlow, JAX, torch).

    Args:
        scale: range of the kept fraction of the clip, within (0, 1].
        fit: ``pad`` or ``resize``.
        seed: seed of the layer's random stream (None: random).
    """

    def __init__(self, scale=(0.6, 1.0), fit: str = "pad", seed=None, **kwargs):
        scale = check_range_pair("scale", scale, low=0.0, high=1.0, low_inclusive=False, what="fractions of the clip", example="[0.6, 1.0]")
        fit = check_choice("fit", fit, FITS)
        super().__init__(**kwargs)
        self.scale = list(scale)
        self.fit = fit
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=None):
        if not training:
            return x
        n, steps = ops.shape(x)[0], x.shape[1]
        length = ops.floor(keras.random.uniform((n,), self.scale[0], self.scale[1], seed=self.seed_generator) * steps)
        length = ops.maximum(length, 1.0)
        start = ops.floor(keras.random.uniform((n,), seed=self.seed_generator) * (steps - length + 1))
        start = ops.minimum(start, steps - length)
        t = ops.cast(ops.arange(steps), "float32")[None, :]
        if self.fit == "pad":
            position = start[:, None] + t
            keep = ops.cast(t < length[:, None], x.dtype)
            return self._gather(x, position, steps) * per_sample_time(keep, x)
        position = start[:, None] + t * (length[:, None] - 1.0) / max(steps - 1, 1)
        low = ops.floor(position)
        frac = ops.cast(position - low, x.dtype)
        return self._gather(x, low, steps) * per_sample_time(1.0 - frac, x) + self._gather(x, low + 1.0, steps) * per_sample_time(frac, x)

    @staticmethod
    def _gather(x, position, steps):
        index = ops.cast(ops.clip(position, 0, steps - 1), "int32")
        if len(x.shape) == 3:
            index = ops.broadcast_to(index[..., None], ops.shape(x))
        return ops.take_along_axis(x, index, axis=1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(scale=list(self.scale), fit=self.fit, seed=self.seed)
        return config


def per_sample_time(values, x):
    """(N, T) values broadcast against ``x`` (N, T) or (N, T, C)."""
    return values[..., None] if len(x.shape) == 3 else values
