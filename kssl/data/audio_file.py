"""Read one audio file as mono float32 samples in [-1, 1] at a chosen sample rate."""

from __future__ import annotations

import importlib.util
from math import gcd
from pathlib import Path

import numpy as np

WAV = (".wav",)
FLAC = (".flac",)


def extensions() -> tuple:
    """The readable suffixes: WAV always (scipy.io.wavfile), FLAC too when ``soundfile`` is installed."""
    return WAV + (FLAC if importlib.util.find_spec("soundfile") is not None else ())


class BadAudio(Exception):
    """A file that is not usable audio; the message says why (the caller names the file)."""


def _to_float(samples: np.ndarray) -> np.ndarray:
    """Integer PCM scaled to [-1, 1] by its type's full scale; float samples kept (clipped to [-1, 1] later)."""
    if samples.dtype == np.uint8:  # 8-bit WAV is unsigned, centred on 128
        return (samples.astype(np.float32) - 128.0) / 128.0
    if np.issubdtype(samples.dtype, np.integer):
        return samples.astype(np.float32) / float(-np.iinfo(samples.dtype).min)
    if np.issubdtype(samples.dtype, np.floating):
        return samples.astype(np.float32)
    raise BadAudio(f"its samples have the unsupported type {samples.dtype}")


def _decode(path: Path) -> tuple[np.ndarray, int]:
    if path.suffix.lower() in FLAC:
        import soundfile

        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=False)
        return np.asarray(samples), int(rate)
    import warnings

    from scipy.io import wavfile

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "chunk not understood": metadata chunks scipy skips
        rate, samples = wavfile.read(str(path))
    return _to_float(np.asarray(samples)), int(rate)


def resample(x: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Samples (time on axis 0) from ``rate`` to ``target`` Hz by polyphase filtering (``scipy.signal.resample_poly``)."""
    if rate == target:
        return x
    from scipy.signal import resample_poly

    g = gcd(int(rate), int(target))
    return resample_poly(x, target // g, rate // g, axis=0).astype(np.float32)


def read_audio(path, sample_rate: int, samples: int) -> np.ndarray:
    """(samples,) float32 mono clip: decoded, channels averaged, resampled, clipped to [-1, 1], cut or zero-padded at the end.

    Raises :class:`BadAudio` for a file that cannot be decoded, holds no samples, or holds
    NaN or infinite samples.
    """
    path = Path(path)
    try:
        x, rate = _decode(path)
    except BadAudio:
        raise
    except Exception as exc:  # noqa: BLE001 - decoders raise ValueError, EOFError, struct.error, RuntimeError ...
        raise BadAudio(f"cannot be decoded ({type(exc).__name__}: {exc})") from None
    if x.ndim == 2:
        x = x.mean(axis=1)
    if x.size == 0:
        raise BadAudio("holds no samples (an empty recording)")
    if not np.all(np.isfinite(x)):
        raise BadAudio(f"holds {int(np.count_nonzero(~np.isfinite(x)))} NaN or infinite sample(s)")
    if rate <= 0:
        raise BadAudio(f"declares a sample rate of {rate} Hz")
    x = np.clip(resample(x, rate, sample_rate), -1.0, 1.0)[:samples]
    return np.pad(x, (0, samples - len(x))).astype(np.float32)
