"""COLA: the loss against numpy, the segment cropping, argument checks, and a learning test on synthetic audio."""

from pathlib import Path

import numpy as np
import pytest

SR = 8000


def noisy_tones(n: int, seed: int = 0, samples: int = 8000, tone: float = 0.07):
    """``n`` synthetic clips (n, samples, 1) in [-1, 1] and their classes (n,): a quiet tone in one of 4 bands under loud noise.

    The class is the band of a steady tone (300-400, 700-900, 1500-1800 or 2800-3300 Hz). Over it lies
    band-pass noise, several times louder, whose centre frequency and level change every quarter
    second: a clip's average spectrum is dominated by its noise, so a random encoder's features sort
    clips by noise more than by tone, while two segments of the same clip share only the tone.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / SR
    y = rng.integers(0, 4, n)
    bands = [(300, 400), (700, 900), (1500, 1800), (2800, 3300)]
    chunk = samples // 4
    freqs = np.fft.rfftfreq(chunk, 1 / SR)
    x = np.zeros((n, samples), "float32")
    for i, c in enumerate(y):
        x[i] = tone * np.sin(2 * np.pi * rng.uniform(*bands[c]) * t + rng.uniform(0, 2 * np.pi))
        for start in range(0, samples, chunk):
            spectrum = np.fft.rfft(rng.standard_normal(chunk)) * np.exp(-(((freqs - rng.uniform(200, 3800)) / 500.0) ** 2))
            burst = np.fft.irfft(spectrum, chunk)
            x[i, start : start + chunk] += rng.uniform(0.5, 0.9) * burst / (np.abs(burst).max() + 1e-9)
    return np.clip(x, -1, 1)[..., None].astype("float32"), y.astype("int32")


def tiny_audio_encoder(filters=(8,)):
    from kssl.encoders.audio_cnn import audio_cnn

    return audio_cnn((2000, 1), sample_rate=SR, filters=list(filters), n_mels=16, frame_length=200, frame_step=80)


def numpy_cola(anchors, positives, w):
    """COLA's loss per anchor, straight from the paper: s(a, p) = a^T W p, softmax cross-entropy over the batch."""
    logits = anchors @ w @ positives.T
    logits = logits - logits.max(axis=1, keepdims=True)
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return -np.diag(log_softmax)


def test_cola_loss_matches_numpy():
    from kssl.losses.cola_loss import COLALoss, cola_logits, cola_loss

    rng = np.random.default_rng(0)
    a, p, w = rng.normal(size=(6, 5)), rng.normal(size=(6, 5)), rng.normal(size=(5, 5))
    expected = numpy_cola(a, p, w)
    transformed = (p @ w.T).astype("float32")  # W p for every candidate, as the bilinear Dense layer makes it
    np.testing.assert_allclose(np.asarray(cola_loss(a.astype("float32"), transformed)), expected, rtol=1e-5, atol=1e-5)
    assert float(COLALoss()(a.astype("float32"), transformed)) == pytest.approx(expected.mean(), rel=1e-5)
    logits, targets = cola_logits(a.astype("float32"), transformed)
    np.testing.assert_array_equal(np.asarray(targets), np.arange(6))
    # closed form: identical candidates leave every anchor at chance, log N
    same = np.ones((4, 3), "float32")
    np.testing.assert_allclose(np.asarray(cola_loss(same, same)), np.full(4, np.log(4.0)), rtol=1e-6)


def test_cola_loss_round_trips():
    from kssl.losses.cola_loss import COLALoss
    from kssl.testing import assert_round_trip

    restored = assert_round_trip(COLALoss(name="cola_check"))
    assert restored.name == "cola_check"


def test_cola_model_loss_is_the_bilinear_loss_of_its_projections():
    import keras

    from kssl.pretext.cola import COLA

    keras.utils.set_random_seed(0)
    x, _ = noisy_tones(6, samples=2000)
    model = COLA(tiny_audio_encoder(), segment_seconds=0.1, sample_rate=SR, projection_dim=8, seed=0)
    model(x[:2])
    first, second = (np.asarray(s) for s in model.segments(x, training=False))
    z1 = np.asarray(model.project(model.encoder(first)))
    z2 = np.asarray(model.project(model.encoder(second)))
    w = np.asarray(model.bilinear.kernel).T  # Dense computes p @ kernel = W p with W = kernel^T
    y_pred = model(x, training=False)
    loss = float(model.compute_loss(x, y_pred=y_pred))
    assert loss == pytest.approx(numpy_cola(z1, z2, w).mean(), rel=1e-4, abs=1e-5)


def test_segments_are_pieces_of_their_own_clip():
    import keras

    from kssl.pretext.cola import COLA

    keras.utils.set_random_seed(0)
    x = np.stack([np.arange(2000) + 10000 * i for i in range(4)]).astype("float32")[..., None]
    model = COLA(tiny_audio_encoder(), segment_seconds=0.05, sample_rate=SR, seed=1)
    first, second = (np.asarray(s)[..., 0] for s in model.segments(x, training=False))
    np.testing.assert_array_equal(first, x[:, :400, 0])
    np.testing.assert_array_equal(second, x[:, -400:, 0])
    starts = []
    for segment in (np.asarray(s)[..., 0] for s in model.segments(x, training=True)):
        assert segment.shape == (4, 400)
        offset = segment - 10000 * np.arange(4)[:, None]  # which clip and where in it
        np.testing.assert_array_equal(np.diff(offset, axis=1), 1)  # contiguous, from the row's own clip
        assert np.all(offset[:, 0] >= 0) and np.all(offset[:, -1] < 2000)
        starts.append(offset[:, 0])
    assert len(set(np.concatenate(starts).tolist())) > 4  # random offsets, independent per clip and segment


def test_bad_arguments_name_the_key():
    from kssl.errors import ArgumentError
    from kssl.pretext.cola import COLA

    encoder = tiny_audio_encoder()
    with pytest.raises(ArgumentError, match="segment_seconds"):
        COLA(encoder, segment_seconds=0.0)
    with pytest.raises(ArgumentError, match="segment_seconds"):
        COLA(encoder, segment_seconds=float("nan"))
    with pytest.raises(ArgumentError, match="projection_dim"):
        COLA(encoder, projection_dim="wide")
    model = COLA(encoder, segment_seconds=0.5, sample_rate=SR)  # 4000 samples: longer than the 2000-sample clips
    with pytest.raises(ArgumentError, match=r"segment_seconds.*0\.125"):
        model.build((None, 2000, 1))
    with pytest.raises(ArgumentError, match="waveforms"):
        COLA(tiny_audio_encoder()).build((None, 16, 16, 1))


def test_round_trip_after_one_step(tmp_path):
    import keras

    from kssl.pretext.cola import COLA
    from kssl.testing import check_pretext

    keras.utils.set_random_seed(0)
    x, _ = noisy_tones(8, samples=2000)
    model = check_pretext(COLA, {"segment_seconds": 0.1, "projection_dim": 8, "seed": 3}, x=x, encoder=tiny_audio_encoder(), tmp_path=tmp_path)
    assert model.get_config()["seed"] == 3 and model.segment_length == 1600  # 0.1 s at the 16 kHz default


@pytest.mark.slow
def test_brief_training_separates_the_classes_better_than_random_init():
    """On noisy_tones a random encoder's kNN is fooled by the loud noise; COLA learns what two segments share, the tone."""
    import keras

    from kssl.data.splits import DataSplits
    from kssl.encoders.audio_cnn import audio_cnn
    from kssl.eval.knn import KNNEvaluator
    from kssl.pretext.cola import COLA

    keras.utils.set_random_seed(0)
    x, y = noisy_tones(384, seed=0)
    xt, yt = noisy_tones(128, seed=1)
    data = DataSplits(x_train=x, y_train=y, x_test=xt, y_test=yt, batch_size=64)
    encoder = audio_cnn((8000, 1), sample_rate=SR, filters=[16, 32, 64], n_mels=32, frame_length=200, frame_step=80)
    model = COLA(encoder, segment_seconds=0.25, sample_rate=SR, projection_dim=64, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    knn = KNNEvaluator(k=10)
    model(x[:2])
    before = knn.evaluate(model, data)["knn_accuracy"]
    history = model.fit(x, batch_size=64, epochs=10, verbose=0).history
    after = knn.evaluate(model, data)["knn_accuracy"]
    assert history["loss"][-1] < history["loss"][0]
    assert after > before + 0.04, (before, after)  # measured: 0.914 -> 0.992 (seed 0)


def test_write_artifacts_draws_the_segment_pairs(tmp_path):
    import keras

    from kssl.data.splits import DataSplits
    from kssl.pretext.cola import COLA

    keras.utils.set_random_seed(0)
    x, y = noisy_tones(4, samples=2000)
    model = COLA(tiny_audio_encoder(), segment_seconds=0.05, sample_rate=SR, projection_dim=8)
    model(x[:2])
    first, second = model.segment_pairs(x)
    for view in (first, second):  # each view: one stretch of 400 samples of its clip, silence elsewhere
        assert view.shape == x.shape
        assert np.all(np.count_nonzero(view[..., 0], axis=1) == 400)
        np.testing.assert_array_equal(view[view != 0], x[view != 0])
    paths = model.write_artifacts(tmp_path, DataSplits(x_train=x, y_train=y, batch_size=4), n=2)
    assert [Path(p).name for p in paths] == ["audio_views.png"] and (tmp_path / "audio_views.png").stat().st_size > 0
    assert any((tmp_path / "logs" / "audio").iterdir())
