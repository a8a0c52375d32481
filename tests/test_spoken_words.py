"""The shipped spoken-words corpus: shapes, balance, a voice-disjoint split, mu-law storage, and regeneration with espeak-ng."""

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest

from kssl.data.mu_law import mu_law_decode, mu_law_encode
from kssl.data.spoken_words import FILE, load_corpus, spoken_words

ROOT = Path(__file__).resolve().parents[1]
WORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]


def generator():
    spec = importlib.util.spec_from_file_location("generate_spoken_words", ROOT / "scripts" / "generate_spoken_words.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_dataset_is_balanced_float_waveforms_with_the_rate_in_its_context():
    data = spoken_words()
    assert data.x_train.shape == (360, 8000, 1) and data.x_test.shape == (120, 8000, 1)
    assert data.x_train.dtype == np.float32 and np.abs(data.x_train).max() <= 1.0 and np.isfinite(data.x_train).all()
    assert data.class_names == WORDS and data.context == {"sample_rate": 8000}
    assert np.bincount(data.y_train).tolist() == [36] * 10 and np.bincount(data.y_test).tolist() == [12] * 10
    assert data.factory_context()["input_shape"] == (8000, 1)
    # every clip holds speech above the noise floor: its loudest 50 ms is well above its quietest
    frames = np.abs(data.x_test[..., 0]).reshape(120, 20, 400).mean(axis=2)
    assert (frames.max(axis=1) > 3 * frames.min(axis=1)).all()


def test_test_clips_are_spoken_by_voices_no_training_clip_uses():
    corpus = load_corpus()
    train, test = set(corpus["variant"][corpus["split"] == 0]), set(corpus["variant"][corpus["split"] == 1])
    assert train and test and not train & test


def test_resampling_limit_and_seed():
    a, b = spoken_words(sample_rate=16000, limit=20, seed=1), spoken_words(limit=20, seed=1)
    assert a.x_train.shape == (20, 16000, 1) and a.context["sample_rate"] == 16000 and a.x_test.shape == (120, 16000, 1)
    assert np.array_equal(a.y_train, b.y_train) and not np.array_equal(b.y_train, spoken_words(limit=20, seed=2).y_train)
    assert len(set(b.y_train.tolist())) >= 5  # the order is shuffled, so a small limit still spans the words


def test_mu_law_round_trip_is_close_and_the_file_is_small_package_data():
    x = np.linspace(-1, 1, 10001)
    codes = mu_law_encode(x)
    assert codes.dtype == np.uint8 and codes.min() == 0 and codes.max() == 255
    error = np.abs(mu_law_decode(codes) - x)
    assert (error <= 0.002 + 0.05 * np.abs(x)).all()  # companding: finer steps near 0
    assert FILE.stat().st_size <= 5_000_000
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    package_data = pyproject.split("[tool.setuptools.package-data]")[1].split("\n[")[0]
    assert '"data/spoken_words.npz"' in package_data


def test_the_generation_plan_is_deterministic_and_matches_the_stored_parameters():
    gen = generator()
    corpus = load_corpus()
    plan = gen.plan(int(corpus["seed"]), 36, 12)
    assert plan == gen.plan(int(corpus["seed"]), 36, 12) and len(plan) == len(corpus["audio"])
    for i in (0, 123, 479):
        assert gen.stored_clip(corpus, i) == plan[i]


@pytest.mark.slow
def test_espeak_ng_regenerates_the_stored_clips():
    assert shutil.which("espeak-ng"), "espeak-ng is not installed: apt-get install -y espeak-ng (.ci/extra installs it in CI)"
    gen = generator()
    assert gen.check(FILE, count=4) == []  # sample for sample with the recorded espeak-ng version
    gen.espeak_version = lambda: "another version"  # as on a machine with a different espeak-ng: compared by envelope
    assert gen.check(FILE, count=2) == []
