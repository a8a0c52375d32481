"""A small convolutional audio encoder: waveform -> log-mel spectrogram -> 2-D CNN -> features."""

from __future__ import annotations

import keras

from kssl.audio.log_mel import LogMelSpectrogram
from kssl.augment.spec_masking import SpecMasking
from kssl.checks import check_int
from kssl.errors import ArgumentError

# Batch-norm moving statistics follow the last ~10 batches (Keras' default 0.99: ~100), so that the
# few hundred steps of a CPU recipe leave inference statistics that match the trained weights.
BN_MOMENTUM = 0.9


def audio_cnn(
    input_shape,
    sample_rate: int = 16000,
    filters=(16, 32, 64),
    kernel_size: int = 3,
    n_mels: int = 40,
    frame_length=None,
    frame_step=None,
    dense_units: int = 0,
    time_masks: int = 0,
    time_width: int = 10,
    freq_masks: int = 0,
    freq_width: int = 8,
) -> keras.Model:
    """Log-mel front end, input normalisation, Conv-BN-ReLU-MaxPool blocks, global average pooling.

    Returns a functional ``keras.Model`` from waveforms (N, T, 1) of **any** length T (the
    input is declared ``(None, 1)``, so a pretext task may feed segments shorter than the
    clips, as COLA does) to (N, D) features, D = ``dense_units`` or else ``filters[-1]``.
    The layers: :class:`~kssl.audio.log_mel.LogMelSpectrogram` (frames x mel bands), each
    clip's log-mel standardised (a ``LayerNormalization`` over time and frequency without
    learned scale or offset), optional SpecAugment masking, then per block a 3x3 ``Conv2D`` (no bias),
    ``BatchNormalization``, ``ReLU`` and a 2x2 ``MaxPooling2D`` over (time, frequency), then
    ``GlobalAveragePooling2D``. Every layer is a stock Keras layer or a registered kssl layer,
    so a saved ``.keras`` file reloads without ``custom_objects`` on TensorFlow, JAX and torch.

    Args:
        input_shape: (T, channels) of the waveforms, channels 1 (T may be None).
        sample_rate: samples per second (the dataset's ``sample_rate``, passed by the builder).
        filters: channels per block; each block halves time and frequency.
        kernel_size: convolution size.
        n_mels: mel bands of the front end (at least 2**len(filters)).
        frame_length: samples per STFT window (None: 25 ms at ``sample_rate``).
        frame_step: samples between STFT frames (None: 10 ms at ``sample_rate``).
        dense_units: width of a final Dense+ReLU layer (0: none).
        time_masks, time_width, freq_masks, freq_width: SpecAugment masking of the normalised
            log-mel (:class:`~kssl.augment.spec_masking.SpecMasking`: masks per clip and their widest
            run in frames / mel bands), active only when the encoder is called with
            ``training=True`` (so in pretext training, never in ``embed`` or evaluation).
            0 masks of both kinds (the default): no masking layer.
    """
    if not isinstance(filters, (list, tuple)) or not filters:
        raise ArgumentError("filters", f"expected a non-empty list of channel counts such as [16, 32, 64], got {filters!r}.")
    filters = [check_int("filters", f, low=1) for f in filters]
    kernel_size = check_int("kernel_size", kernel_size, low=1)
    dense_units = check_int("dense_units", dense_units, low=0)
    length = check_waveform_input("audio_cnn", input_shape)
    front = log_mel_front_end(sample_rate, n_mels, frame_length, frame_step)
    reach = 2 ** len(filters)
    if front.n_mels < reach:
        raise ArgumentError("n_mels", f"{len(filters)} blocks halve the mel axis {len(filters)} times: need n_mels >= {reach}, got {front.n_mels}.")
    if length is not None and front.frames(length) < reach:
        raise ArgumentError(
            "input_shape",
            f"clips of {length} samples give {front.frames(length)} frames (frame_step {front.frame_step}); "
            f"{len(filters)} blocks need at least {reach}: use longer clips, a smaller frame_step or fewer filters.",
        )

    inputs = keras.Input((None, 1), name="waveform")
    x = front(inputs)  # (N, frames, n_mels)
    x = keras.layers.Reshape((-1, front.n_mels, 1), name="spectrogram")(x)
    # Each clip's log-mel standardised over time and frequency: no statistics to learn, so the
    # random-init and the trained encoder see the same scale, and a clip's gain drops out.
    x = keras.layers.LayerNormalization(axis=(1, 2, 3), center=False, scale=False, name="input_norm")(x)
    masking = SpecMasking(time_masks, time_width, freq_masks, freq_width, name="spec_masking")
    if masking.time_masks or masking.freq_masks:
        x = masking(x)
    for i, f in enumerate(filters):
        x = keras.layers.Conv2D(f, kernel_size, padding="same", use_bias=False, name=f"conv{i + 1}")(x)
        x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"bn{i + 1}")(x)
        x = keras.layers.ReLU(name=f"relu{i + 1}")(x)
        x = keras.layers.MaxPooling2D(2, padding="same", name=f"pool{i + 1}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    if dense_units:
        x = keras.layers.Dense(dense_units, activation="relu", name="dense")(x)
    return keras.Model(inputs, x, name="audio_cnn")


def log_mel_front_end(sample_rate, n_mels, frame_length=None, frame_step=None) -> LogMelSpectrogram:
    """The audio encoders' ``log_mel`` layer; frames default to 25 ms windows every 10 ms at ``sample_rate``."""
    sample_rate = check_int("sample_rate", sample_rate, low=1000)
    frame_length = round(0.025 * sample_rate) if frame_length is None else frame_length
    frame_step = round(0.010 * sample_rate) if frame_step is None else frame_step
    return LogMelSpectrogram(sample_rate=sample_rate, n_mels=n_mels, frame_length=frame_length, frame_step=frame_step, name="log_mel")


def check_waveform_input(encoder: str, input_shape):
    """The clip length (None if variable) after checking ``input_shape`` is (T, 1) or (T,)."""
    shape = tuple(input_shape) if isinstance(input_shape, (list, tuple)) else None
    if shape is None or len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] != 1):
        raise ArgumentError(
            "input_shape",
            f"the {encoder} encoder needs mono waveforms (samples, 1), got data of shape {input_shape!r}; use an audio dataset such as spoken_words.",
        )
    if shape[0] is None:
        return None
    return check_int("input_shape", shape[0], low=1)
