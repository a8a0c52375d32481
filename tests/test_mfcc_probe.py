"""The MFCC baseline: its DCT against a hand-written one, its score on separable tones, and that it ignores the model."""

import numpy as np
import pytest

from kssl.data.splits import DataSplits
from kssl.errors import KsslError
from kssl.eval.mfcc_probe import MFCCProbeEvaluator, mfcc, summary
from kssl.plugins import get_registry

SR = 8000


def hand_dct(v, n):
    """DCT-II with orthonormal scaling, written out: c_k = s_k * sum_m v_m cos(pi k (2m + 1) / 2M)."""
    m = len(v)
    out = []
    for k in range(n):
        scale = np.sqrt(1.0 / m) if k == 0 else np.sqrt(2.0 / m)
        out.append(scale * sum(v[i] * np.cos(np.pi * k * (2 * i + 1) / (2 * m)) for i in range(m)))
    return np.array(out)


def test_mfccs_are_the_orthonormal_dct_of_the_log_mel_frames():
    log_mel = np.random.default_rng(0).normal(size=(2, 3, 12))
    coefficients = mfcc(log_mel, 5)
    assert coefficients.shape == (2, 3, 5)
    for a in range(2):
        for t in range(3):
            np.testing.assert_allclose(coefficients[a, t], hand_dct(log_mel[a, t], 5), atol=1e-10)
    feats = summary(coefficients)
    np.testing.assert_allclose(feats, np.concatenate([coefficients.mean(1), coefficients.std(1)], axis=1))


def tones(n, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(SR // 2) / SR
    y = np.arange(n) % 2
    freq = np.where(y == 0, 400.0, 1800.0)[:, None] * rng.uniform(0.95, 1.05, (n, 1))
    x = 0.3 * np.sin(2 * np.pi * freq * t) + 0.05 * rng.normal(size=(n, len(t)))
    return x.astype("float32")[..., None], y.astype("int32")


def test_separable_tones_score_one_whatever_the_model():
    x_tr, y_tr = tones(40, 0)
    x_te, y_te = tones(20, 1)
    data = DataSplits(x_tr, y_tr, x_te, y_te, batch_size=16, class_names=["low", "high"], context={"sample_rate": SR})
    evaluator = get_registry().get("evaluator", "mfcc_probe")()
    scores = evaluator.evaluate(None, data)
    assert scores == {"mfcc_probe_accuracy": 1.0}
    assert evaluator.evaluate(object(), data) == scores  # the model is never looked at
    assert MFCCProbeEvaluator(**evaluator.get_config()).get_config() == evaluator.get_config()


def test_a_dataset_without_a_sample_rate_or_labels_is_refused():
    x, y = tones(8, 0)
    with pytest.raises(KsslError, match="sample_rate"):
        MFCCProbeEvaluator().check_data(DataSplits(x, y, x, y))
    MFCCProbeEvaluator(sample_rate=SR).check_data(DataSplits(x, y, x, y))
    with pytest.raises(KsslError, match="labeled"):
        MFCCProbeEvaluator(sample_rate=SR).check_data(DataSplits(x))
    with pytest.raises(KsslError, match="mono waveforms"):
        MFCCProbeEvaluator(sample_rate=SR).check_data(DataSplits(np.zeros((8, 32, 32, 3)), y, np.zeros((8, 32, 32, 3)), y))


@pytest.mark.slow
def test_the_baseline_on_spoken_words_beats_chance_on_unseen_voices():
    from kssl.data.spoken_words import spoken_words

    accuracy = MFCCProbeEvaluator().evaluate(None, spoken_words())["mfcc_probe_accuracy"]
    assert 0.5 < accuracy < 0.9  # measured 0.675 (10 words, chance 0.1): a real but unsolved task


def test_the_score_is_computed_once_per_dataset():
    x, y = tones(20, 0)
    data = DataSplits(x, y, x, y, context={"sample_rate": SR})
    evaluator = MFCCProbeEvaluator()
    first = evaluator.evaluate(None, data)
    evaluator.features = None  # a second call for the same arrays must not compute features again
    assert evaluator.evaluate(None, data) == first
    with pytest.raises(TypeError):
        evaluator.evaluate(None, DataSplits(x.copy(), y, x, y, context={"sample_rate": SR}))  # new arrays: computed afresh
