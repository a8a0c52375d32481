"""G.711-style mu-law companding: float waveforms in [-1, 1] <-> 8-bit codes (the spoken-words corpus's storage)."""

from __future__ import annotations

import numpy as np

MU = 255.0


def mu_law_encode(x) -> np.ndarray:
    """Float samples in [-1, 1] (clipped) -> uint8 codes 0..255 (mu = 255, 128 is silence)."""
    x = np.clip(np.asarray(x, np.float64), -1.0, 1.0)
    companded = np.sign(x) * np.log1p(MU * np.abs(x)) / np.log1p(MU)
    return np.round((companded + 1.0) / 2.0 * MU).astype(np.uint8)


def mu_law_decode(codes) -> np.ndarray:
    """uint8 codes -> float32 samples in [-1, 1] (the inverse of :func:`mu_law_encode` up to quantisation)."""
    companded = np.asarray(codes, np.float64) / MU * 2.0 - 1.0
    return (np.sign(companded) * np.expm1(np.abs(companded) * np.log1p(MU)) / MU).astype(np.float32)
