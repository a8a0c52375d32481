"""Spoken command words synthesised with espeak-ng: kssl's offline speech dataset (shipped, nothing downloaded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kssl.checks import check_int
from kssl.data._prep import common_args, take
from kssl.data.mu_law import mu_law_decode
from kssl.data.splits import DataSplits
from kssl.errors import KsslError

FILE = Path(__file__).with_name("spoken_words.npz")
NATIVE_RATE = 8000


def load_corpus(path=FILE) -> dict:
    """The stored corpus as arrays: ``audio`` (N, 8000) float32 in [-1, 1], ``label``, ``split`` (0 train, 1 test), ``words``.

    Also every clip's synthesis parameters (``accent``, ``variant``, ``pitch``, ...; see scripts/generate_spoken_words.py).
    """
    if not Path(path).is_file():
        raise KsslError(
            f"data (spoken_words): the corpus file {str(path)!r} is missing from this kssl installation. Reinstall kssl, or regenerate it "
            "with `python scripts/generate_spoken_words.py` (needs espeak-ng)."
        )
    with np.load(path) as data:
        corpus = {key: data[key] for key in data.files}
    corpus["audio"] = mu_law_decode(corpus["audio"])
    return corpus


def resample(x: np.ndarray, rate: int, target: int) -> np.ndarray:
    """(N, T) float waveforms from ``rate`` to ``target`` Hz (polyphase, ``scipy.signal.resample_poly``), clipped to [-1, 1]."""
    if rate == target:
        return x
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(int(rate), int(target))
    return np.clip(resample_poly(x, target // g, rate // g, axis=-1), -1.0, 1.0).astype(np.float32)


def spoken_words(
    sample_rate: int = NATIVE_RATE,
    batch_size: int = 64,
    seed: int = 0,
    limit: int | None = None,
) -> DataSplits:
    """480 one-second clips of ten spoken command words (yes no up down left right on off stop go).

    Synthesised by ``scripts/generate_spoken_words.py`` with espeak-ng over 8 English accents,
    20 voice variants, pitch, speed, amplitude and added white or pink noise (10-30 dB SNR);
    stored as 8 kHz mu-law. 360 training clips (16 voice variants) and 120 test clips spoken
    by 4 variants that no training clip uses: evaluators score on unseen voices.

    ``x_train``/``x_test``: float32 waveforms (N, T, 1) in [-1, 1], T = ``sample_rate`` (1 s).
    Labels index ``class_names`` (the words). ``context["sample_rate"]`` is the rate, which the
    builder passes to any factory that names ``sample_rate`` (e.g. the log-mel front end).

    Args:
        sample_rate: output rate in Hz; 8000 is the stored rate, others are resampled (polyphase).
        batch_size: training batch size.
        seed: seed of the training clips' order (the split itself is fixed, by voice).
        limit: keep only the first N training clips of that order (small experiments, tests).
    """
    sample_rate = check_int("sample_rate", sample_rate, low=1000, high=48000)
    common_args(batch_size, seed, limit)
    corpus = load_corpus()
    x = resample(corpus["audio"], int(corpus["sample_rate"]), sample_rate)[..., None]
    y, split = corpus["label"].astype("int32"), corpus["split"]
    train, test = np.flatnonzero(split == 0), np.flatnonzero(split == 1)
    train = train[np.random.default_rng(seed).permutation(len(train))]
    x_tr, y_tr = take(limit, x[train], y[train])
    return DataSplits(
        x_tr,
        y_tr,
        x[test],
        y[test],
        batch_size=batch_size,
        class_names=[str(w) for w in corpus["words"]],
        context={"sample_rate": sample_rate},
    )
