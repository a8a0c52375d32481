"""A Vision Transformer on log-mel patches: the ``vit`` encoder behind the audio front end (an Audio Spectrogram Transformer in small)."""

from __future__ import annotations

import keras

from kssl.checks import check_int
from kssl.encoders.audio_cnn import check_waveform_input, log_mel_front_end
from kssl.encoders.vit import VisionTransformer
from kssl.errors import ArgumentError


def audio_vit(
    input_shape,
    sample_rate: int = 16000,
    n_mels: int = 40,
    frame_length=None,
    frame_step=None,
    patch_size: int = 4,
    width: int = 64,
    depth: int = 2,
    num_heads: int = 4,
    mlp_ratio: float = 2.0,
    pooling: str = "mean",
) -> keras.Model:
    """Waveforms (N, T, 1) of a fixed length T -> log-mel -> :class:`~kssl.encoders.vit.VisionTransformer` -> (N, ``width``).

    The log-mel (frames x mel bands, each clip standardised as in ``audio_cnn``) is treated as a
    one-channel image: its last frames and bands are cropped to whole ``patch_size`` patches,
    then the ``vit`` encoder (patch tokens with learned positions, ``depth`` pre-norm blocks,
    ``pooling``) makes the features. Positions are learned per patch, so the clip length is
    fixed: use it with methods that encode whole clips (``byol``), not with ``cola``, which
    encodes shorter segments. A functional ``keras.Model`` of registered layers; round-trips.

    Args:
        input_shape: (T, 1) of the waveforms.
        sample_rate: samples per second (the dataset's, passed by the builder).
        n_mels, frame_length, frame_step: the log-mel front end (as in ``audio_cnn``).
        patch_size, width, depth, num_heads, mlp_ratio, pooling: the ``vit`` encoder's.
    """
    length = check_waveform_input("audio_vit", input_shape)
    if length is None:
        raise ArgumentError("input_shape", "the audio_vit encoder needs clips of a fixed length (its positions are learned per patch), got None.")
    front = log_mel_front_end(sample_rate, n_mels, frame_length, frame_step)
    frames = front.frames(length)
    patch_size = check_int("patch_size", patch_size, low=1)
    rows, cols = frames // patch_size * patch_size, front.n_mels // patch_size * patch_size
    if rows == 0 or cols == 0:
        raise ArgumentError("patch_size", f"{patch_size} is larger than the {frames} x {front.n_mels} log-mel; use a smaller patch_size.")
    transformer = VisionTransformer((rows, cols, 1), patch_size, width, depth, num_heads, mlp_ratio, pooling, name="vit")
    inputs = keras.Input((length, 1), name="waveform")
    x = keras.layers.Reshape((frames, front.n_mels, 1), name="spectrogram")(front(inputs))
    x = keras.layers.Cropping2D(((0, frames - rows), (0, front.n_mels - cols)), name="whole_patches")(x)
    x = keras.layers.LayerNormalization(axis=(1, 2, 3), center=False, scale=False, name="input_norm")(x)
    return keras.Model(inputs, transformer(x), name="audio_vit")
