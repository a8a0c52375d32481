"""Per-clip random loudness: a gain drawn uniformly in decibels."""

from __future__ import annotations

import keras
from keras import ops

from kssl.augment._waveform import clip_audio, per_sample
from kssl.checks import check_range_pair


@keras.saving.register_keras_serializable(package="kssl")
class RandomGain(keras.layers.Layer):
    """Scale each clip by ``10 ** (g / 20)``, ``g ~ U(gain_db)`` decibels, then clip to [-1, 1].

    Input and output: waveforms (N, T) or (N, T, C) in [-1, 1]. Random only when called with
    ``training=True``; identity otherwise. ``keras.ops`` only (TensorFlow, JAX, torch).

    Args:
        gain_db: range of the gain in dB, e.g. [-6, 6] (0.5x to 2x amplitude).
        seed: seed of the layer's random stream (None: random).
    """

    def __init__(self, gain_db=(-6.0, 6.0), seed=None, **kwargs):
        gain_db = check_range_pair("gain_db", gain_db, low=-60.0, high=60.0, what="gains in dB", example="[-6, 6]")
        super().__init__(**kwargs)
        self.gain_db = list(gain_db)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=None):
        if not training:
            return x
        db = keras.random.uniform((ops.shape(x)[0],), self.gain_db[0], self.gain_db[1], seed=self.seed_generator)
        return clip_audio(x * per_sample(ops.power(10.0, db / 20.0), x))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(gain_db=list(self.gain_db), seed=self.seed)
        return config
