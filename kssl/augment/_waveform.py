"""Shared steps of the waveform augmenters: per-sample scalars broadcast over (N, T) or (N, T, C) clips, RMS levels."""

from __future__ import annotations

from keras import ops


def per_sample(values, x):
    """(N,) values reshaped to broadcast against ``x`` (N, T) or (N, T, C)."""
    return ops.reshape(values, (-1,) + (1,) * (len(x.shape) - 1))


def rms(x):
    """(N,) root-mean-square level of each clip (over time and channels), floored at 1e-8."""
    axes = tuple(range(1, len(x.shape)))
    return ops.sqrt(ops.maximum(ops.mean(ops.square(x), axis=axes), 1e-16))


def clip_audio(x):
    """Samples kept in [-1, 1], the documented range of waveforms."""
    return ops.clip(x, -1.0, 1.0)
