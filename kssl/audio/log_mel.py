"""Log-mel spectrogram front end: waveforms (N, T) or (N, T, 1) -> (N, frames, n_mels)."""

from __future__ import annotations

import keras

from kssl.checks import check_int, check_number, check_positive
from kssl.errors import ArgumentError


@keras.saving.register_keras_serializable(package="kssl")
class LogMelSpectrogram(keras.layers.Layer):
    """``log(mel power + floor)`` of a waveform, frames on the time axis (the layout of audio encoders).

    Wraps Keras 3's ``keras.layers.MelSpectrogram`` (Hann-windowed STFT with centred frames,
    HTK mel filterbank, power spectrum) with ``power_to_db`` off, then takes the natural
    log with a floor: no per-batch ``top_db`` clipping, so every clip is scaled alike.
    Runs inside a model on TensorFlow, JAX and torch.

    Input: waveforms (N, T) or (N, T, 1), floats in [-1, 1]. Output: (N, 1 + T // frame_step, n_mels).

    Args:
        sample_rate: samples per second of the input.
        n_mels: mel bands.
        frame_length: samples per analysis window (400 = 25 ms at 16 kHz).
        frame_step: samples between frames (160 = 10 ms at 16 kHz).
        fft_length: FFT size (>= frame_length); None: the next power of two.
        min_freq: lower edge of the lowest mel band in Hz.
        max_freq: upper edge of the highest band in Hz (None: sample_rate / 2).
        floor: added to the mel power before the log (log(floor) is the value of silence).
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        n_mels: int = 64,
        frame_length: int = 400,
        frame_step: int = 160,
        fft_length=None,
        min_freq: float = 20.0,
        max_freq=None,
        floor: float = 1e-6,
        **kwargs,
    ):
        sample_rate = check_int("sample_rate", sample_rate, low=1000, high=384000)
        n_mels = check_int("n_mels", n_mels, low=1, high=512)
        frame_length = check_int("frame_length", frame_length, low=8)
        frame_step = check_int("frame_step", frame_step, low=1)
        if fft_length is None:
            fft_length = 1 << (frame_length - 1).bit_length()
        fft_length = check_int("fft_length", fft_length, low=frame_length)
        min_freq = check_number("min_freq", min_freq, low=0.0, high=sample_rate / 2, high_inclusive=False)
        if max_freq is not None:
            max_freq = check_number("max_freq", max_freq, low=min_freq, high=sample_rate / 2, low_inclusive=False)
        floor = check_positive("floor", floor)
        if n_mels > fft_length // 2:
            raise ArgumentError("n_mels", f"expected at most fft_length / 2 = {fft_length // 2} mel bands, got {n_mels}; lower n_mels or raise fft_length.")
        super().__init__(**kwargs)
        self.sample_rate = sample_rate
        self.n_mels = n_mels
        self.frame_length = frame_length
        self.frame_step = frame_step
        self.fft_length = fft_length
        self.min_freq = min_freq
        self.max_freq = max_freq
        self.floor = floor
        self.mel = keras.layers.MelSpectrogram(
            fft_length=fft_length,
            sequence_stride=frame_step,
            sequence_length=frame_length,
            window="hann",
            sampling_rate=sample_rate,
            num_mel_bins=n_mels,
            min_freq=min_freq,
            max_freq=max_freq,
            power_to_db=False,
            mag_exp=2.0,
            name="mel",
        )

    def build(self, input_shape):
        self.built = True

    def frames(self, samples: int) -> int:
        """Frames of a ``samples``-long waveform (centred STFT)."""
        return 1 + int(samples) // self.frame_step

    def call(self, waveforms):
        x = keras.ops.convert_to_tensor(waveforms, dtype="float32")
        if len(x.shape) == 3:
            x = keras.ops.squeeze(x, axis=-1)
        power = self.mel(x)  # (N, n_mels, frames)
        return keras.ops.transpose(keras.ops.log(power + self.floor), (0, 2, 1))

    def compute_output_shape(self, input_shape):
        samples = input_shape[1]
        return (input_shape[0], None if samples is None else self.frames(samples), self.n_mels)

    def get_config(self):
        config = super().get_config()
        config.update(
            sample_rate=self.sample_rate,
            n_mels=self.n_mels,
            frame_length=self.frame_length,
            frame_step=self.frame_step,
            fft_length=self.fft_length,
            min_freq=self.min_freq,
            max_freq=self.max_freq,
            floor=self.floor,
        )
        return config
