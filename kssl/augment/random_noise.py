"""Additive white noise at a random signal-to-noise ratio."""

from __future__ import annotations

import keras
from keras import ops

from kssl.augment._waveform import clip_audio, per_sample, rms
from kssl.checks import check_probability, check_range_pair


@keras.saving.register_keras_serializable(package="kssl")
class RandomNoise(keras.layers.Layer):
    """Add Gaussian white noise to each clip at an SNR drawn uniformly from ``snr_db``.

    The noise's RMS is the clip's RMS times ``10 ** (-snr / 20)``; each clip gets noise with
    probability ``probability``; the sum is clipped to [-1, 1]. Input and output: waveforms
    (N, T) or (N, T, C). Random only when called with ``training=True``; identity otherwise.

    Args:
        snr_db: range of the signal-to-noise ratio in dB (lower: noisier).
        probability: chance that a clip gets noise.
        seed: seed of the layer's random stream (None: random).
    """

    def __init__(self, snr_db=(10.0, 40.0), probability: float = 1.0, seed=None, **kwargs):
        snr_db = check_range_pair("snr_db", snr_db, low=-30.0, high=100.0, what="SNRs in dB", example="[10, 40]")
        probability = check_probability("probability", probability)
        super().__init__(**kwargs)
        self.snr_db = list(snr_db)
        self.probability = probability
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=None):
        if not training:
            return x
        n = ops.shape(x)[0]
        snr = keras.random.uniform((n,), self.snr_db[0], self.snr_db[1], seed=self.seed_generator)
        on = ops.cast(keras.random.uniform((n,), seed=self.seed_generator) < self.probability, x.dtype)
        scale = rms(x) * ops.power(10.0, -snr / 20.0) * on
        noise = keras.random.normal(ops.shape(x), dtype=x.dtype, seed=self.seed_generator)
        return clip_audio(x + noise * per_sample(scale, x))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(snr_db=list(self.snr_db), probability=self.probability, seed=self.seed)
        return config
