"""The audio_cnn encoder: waveforms of any length -> features; masking only when training; round trip; bad input."""

import numpy as np
import pytest

SR = 8000


def waveforms(n=4, samples=2000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / SR
    tones = np.sin(2 * np.pi * rng.uniform(200, 3000, (n, 1)) * t)
    return (0.5 * tones + 0.05 * rng.standard_normal((n, samples))).astype("float32")[..., None]


def small(**args):
    from kssl.encoders.audio_cnn import audio_cnn

    settings = {"sample_rate": SR, "filters": [4, 8], "n_mels": 16, **args}
    return audio_cnn((2000, 1), **settings)


def test_builds_through_the_factory_call_and_round_trips(tmp_path):
    from kssl.encoders.audio_cnn import audio_cnn
    from kssl.testing import check_encoder

    args = {"filters": [4, 8], "n_mels": 16, "time_masks": 1, "freq_masks": 1}
    model = check_encoder(audio_cnn, args, input_shape=(2000, 1), x=waveforms(), tmp_path=tmp_path)
    assert model.output.shape[-1] == 8
    front = model.get_layer("log_mel")
    assert (front.sample_rate, front.frame_length, front.frame_step) == (16000, 400, 160)  # 25 ms / 10 ms at the default rate


def test_any_clip_length_and_defaults_follow_the_sample_rate():
    model = small(dense_units=6)
    front = model.get_layer("log_mel")
    assert (front.frame_length, front.frame_step) == (200, 80)
    for samples in (2000, 1200, 3000):
        features = np.asarray(model(waveforms(3, samples), training=False))
        assert features.shape == (3, 6) and np.all(np.isfinite(features))


def test_spec_masking_acts_only_when_training():
    import keras

    keras.utils.set_random_seed(0)
    x = waveforms()
    plain = small()
    masked = small(time_masks=2, time_width=8, freq_masks=2, freq_width=4)
    assert "spec_masking" not in [layer.name for layer in plain.layers]
    masked.set_weights(plain.get_weights())  # the masking layer has no weights: the same network
    np.testing.assert_allclose(np.asarray(masked(x, training=False)), np.asarray(plain(x, training=False)), rtol=1e-5, atol=1e-6)
    inner = keras.Model(masked.input, masked.get_layer("spec_masking").output)
    a, b = np.asarray(inner(x, training=True)), np.asarray(inner(x, training=False))
    assert not np.allclose(a, b)
    changed = np.mean(~np.isclose(a, b))
    assert 0.0 < changed < 0.8


def test_bad_input_names_the_key():
    from kssl.encoders.audio_cnn import audio_cnn
    from kssl.errors import ArgumentError

    with pytest.raises(ArgumentError, match="input_shape"):
        audio_cnn((16, 16, 1))
    with pytest.raises(ArgumentError, match="input_shape"):
        audio_cnn((400, 1), sample_rate=SR, filters=[4, 8, 16, 32, 64])  # 6 frames, 32 needed
    with pytest.raises(ArgumentError, match="n_mels"):
        audio_cnn((8000, 1), sample_rate=SR, n_mels=8, filters=[4, 8, 16, 32])
    with pytest.raises(ArgumentError, match="filters"):
        audio_cnn((8000, 1), filters=[])
    with pytest.raises(ArgumentError, match="time_masks"):
        audio_cnn((8000, 1), time_masks=-1)
    with pytest.raises(ArgumentError, match="sample_rate"):
        audio_cnn((8000, 1), sample_rate=float("nan"))


@pytest.mark.slow
def test_audio_vit_round_trips_and_trains_byol_one_step(tmp_path):
    import keras

    from kssl.augment.audio_augment import AudioAugment
    from kssl.encoders.audio_vit import audio_vit
    from kssl.pretext.byol import BYOL
    from kssl.testing import check_encoder, check_pretext

    keras.utils.set_random_seed(0)
    x = waveforms(8)
    args = {"sample_rate": SR, "n_mels": 16, "patch_size": 4, "width": 8, "depth": 1, "num_heads": 2}
    encoder = check_encoder(audio_vit, args, input_shape=(2000, 1), x=x, tmp_path=tmp_path)
    assert encoder.output.shape[-1] == 8
    assert encoder.get_layer("vit").image_shape == (24, 16, 1)  # 26 frames cropped to whole 4-frame patches
    heads = {"projection_dim": 8, "projection_hidden_dims": [8], "predictor_hidden_dims": [8]}
    check_pretext(BYOL, heads, x=x, encoder=encoder, augmenter=AudioAugment(seed=0))


def test_audio_vit_refuses_what_it_cannot_patch():
    from kssl.encoders.audio_vit import audio_vit
    from kssl.errors import ArgumentError

    with pytest.raises(ArgumentError, match="input_shape"):
        audio_vit((None, 1))
    with pytest.raises(ArgumentError, match="patch_size"):
        audio_vit((2000, 1), sample_rate=SR, n_mels=16, patch_size=32)
    with pytest.raises(ArgumentError, match="patch_size"):
        audio_vit((2000, 1), sample_rate=SR, patch_size=0)
