"""SpecAugment's time and frequency masking (Park et al., Interspeech 2019) on (frames, mels) spectrograms."""

from __future__ import annotations

import keras
from keras import ops

from kssl.checks import check_choice, check_int

FILLS = ("mean", "zero")


@keras.saving.register_keras_serializable(package="kssl")
class SpecMasking(keras.layers.Layer):
    """Blank ``time_masks`` random runs of frames and ``freq_masks`` random runs of mel bands in each spectrogram.

    Each mask of a sample draws its width uniformly in ``0..time_width`` frames (``0..freq_width``
    bands) and its start uniformly where it fits; masked cells get the sample's mean value
    (``fill: mean``, neutral for log-mels) or 0 (``fill: zero``). Use it after the log-mel front
    end (:class:`kssl.audio.log_mel.LogMelSpectrogram`). Input and output: (N, frames, mels) or
    (N, frames, mels, C). Random only when called with ``training=True``; identity otherwise.

    Args:
        time_masks: masks along time per sample (0: none).
        time_width: widest time mask in frames.
        freq_masks: masks along the mel axis per sample (0: none).
        freq_width: widest frequency mask in mel bands.
        fill: ``mean`` or ``zero``.
        seed: seed of the layer's random stream (None: random).
    """

    def __init__(self, time_masks: int = 2, time_width: int = 10, freq_masks: int = 2, freq_width: int = 8, fill: str = "mean", seed=None, **kwargs):
        time_masks = check_int("time_masks", time_masks, low=0, high=100)
        time_width = check_int("time_width", time_width, low=0)
        freq_masks = check_int("freq_masks", freq_masks, low=0, high=100)
        freq_width = check_int("freq_width", freq_width, low=0)
        fill = check_choice("fill", fill, FILLS)
        super().__init__(**kwargs)
        self.time_masks, self.time_width = time_masks, time_width
        self.freq_masks, self.freq_width = freq_masks, freq_width
        self.fill = fill
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _runs(self, n, size: int, count: int, width: int):
        """(N, size) float mask: 1 where one of ``count`` random runs of up to ``width`` positions lies."""
        covered = ops.zeros((n, size))
        width = min(width, size)
        position = ops.cast(ops.arange(size), "float32")[None, :]
        for _ in range(count):
            w = ops.floor(keras.random.uniform((n, 1), 0.0, width + 1.0, seed=self.seed_generator))
            w = ops.minimum(w, float(width))
            start = ops.floor(keras.random.uniform((n, 1), seed=self.seed_generator) * (size - w + 1.0))
            start = ops.minimum(start, size - w)
            covered = ops.maximum(covered, ops.cast((position >= start) & (position < start + w), "float32"))
        return covered

    def call(self, x, training=None):
        if not training or (self.time_masks == 0 and self.freq_masks == 0):
            return x
        n, frames, mels = ops.shape(x)[0], x.shape[1], x.shape[2]
        time = self._runs(n, frames, self.time_masks, self.time_width)[:, :, None]
        freq = self._runs(n, mels, self.freq_masks, self.freq_width)[:, None, :]
        masked = ops.maximum(time, freq)
        if len(x.shape) == 4:
            masked = masked[..., None]
        masked = ops.cast(masked, x.dtype)
        axes = tuple(range(1, len(x.shape)))
        value = ops.mean(x, axis=axes, keepdims=True) if self.fill == "mean" else ops.zeros_like(x[:1])
        return x * (1.0 - masked) + value * masked

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            time_masks=self.time_masks, time_width=self.time_width, freq_masks=self.freq_masks, freq_width=self.freq_width, fill=self.fill, seed=self.seed
        )
        return config
