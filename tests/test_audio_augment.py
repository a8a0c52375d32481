"""Audio augmenters: shapes, identity at inference, the statistics of their randomness, serialisation."""

import keras
import numpy as np
import pytest
from jax_subprocess import run_on_jax

from kssl.augment.audio_augment import AudioAugment
from kssl.augment.background_noise import BackgroundNoise
from kssl.augment.random_gain import RandomGain
from kssl.augment.random_noise import RandomNoise
from kssl.augment.random_time_crop import RandomTimeCrop
from kssl.augment.spec_masking import SpecMasking
from kssl.errors import ArgumentError

T = 800


def clips(n=64, amplitude=0.1, seed=0):
    """Sinusoids of distinct frequencies (n, T, 1): nearly orthogonal to one another over T samples."""
    t = np.arange(T) / T
    rng = np.random.default_rng(seed)
    return (amplitude * np.sin(2 * np.pi * (np.arange(n)[:, None] + 5) * t + rng.uniform(0, 6, (n, 1)))).astype("float32")[..., None]


LAYERS = [
    lambda: RandomGain(seed=0),
    lambda: RandomNoise(seed=0),
    lambda: RandomTimeCrop(seed=0),
    lambda: RandomTimeCrop(fit="resize", seed=0),
    lambda: BackgroundNoise(seed=0),
    lambda: BackgroundNoise(source="noise", seed=0),
    lambda: AudioAugment(seed=0),
]


@pytest.mark.parametrize("make", LAYERS)
def test_waveform_layers_keep_the_shape_stay_in_range_and_are_identity_at_inference(make):
    layer, x = make(), clips(8, amplitude=0.9)
    for batch in (x, x[..., 0]):
        out = np.asarray(layer(batch, training=True))
        assert out.shape == batch.shape and np.isfinite(out).all() and np.abs(out).max() <= 1.0
        assert not np.allclose(out, batch)
        np.testing.assert_array_equal(np.asarray(layer(batch)), batch)
        np.testing.assert_array_equal(np.asarray(layer(batch, training=False)), batch)


def test_gain_spans_its_decibel_range():
    x = clips(256, amplitude=0.01)
    out = np.asarray(RandomGain(gain_db=(-6.0, 6.0), seed=1)(x, training=True))
    db = 20 * np.log10(np.abs(out).max(axis=(1, 2)) / np.abs(x).max(axis=(1, 2)))
    assert db.min() >= -6.001 and db.max() <= 6.001
    assert db.min() < -5.0 and db.max() > 5.0 and abs(db.mean()) < 1.0  # uniform over the range


def test_noise_lands_at_an_snr_inside_its_range_with_the_given_probability():
    x = clips(400, amplitude=0.1)
    out = np.asarray(RandomNoise(snr_db=(10.0, 20.0), probability=0.5, seed=2)(x, training=True))
    noise = out - x
    noisy = np.abs(noise).max(axis=(1, 2)) > 0
    assert 0.4 < noisy.mean() < 0.6
    snr = 10 * np.log10((x[noisy] ** 2).mean(axis=(1, 2)) / (noise[noisy] ** 2).mean(axis=(1, 2)))
    assert snr.min() > 9.0 and snr.max() < 21.0 and snr.min() < 11.0 and snr.max() > 19.0


def test_pad_crop_keeps_a_stretch_of_the_clip_then_silence():
    x = np.tile(np.linspace(-0.5, 0.5, T, dtype="float32"), (100, 1))
    out = np.asarray(RandomTimeCrop(scale=(0.5, 0.9), seed=3)(x, training=True))
    step = x[0, 1] - x[0, 0]
    for row in out:
        kept = int(np.flatnonzero(row != 0)[-1]) + 1
        assert 0.5 * T - 1 <= kept <= 0.9 * T + 1
        np.testing.assert_allclose(np.diff(row[:kept]), step, atol=1e-6)  # a contiguous stretch of the ramp
        assert (row[kept:] == 0).all()


def test_resize_crop_stretches_a_ramp_back_to_full_length():
    x = np.tile(np.linspace(-0.5, 0.5, T, dtype="float32"), (50, 1))
    out = np.asarray(RandomTimeCrop(scale=(0.5, 0.5), fit="resize", seed=4)(x, training=True))
    np.testing.assert_allclose(np.diff(out, axis=1), (x[0, 1] - x[0, 0]) * (0.5 * T - 1) / (T - 1), atol=1e-5)


def test_batch_mixing_weights_stay_in_range():
    x = clips(300)
    out = np.asarray(BackgroundNoise(ratio=(0.1, 0.4), probability=0.5, seed=5)(x, training=True))
    own = (out * x).sum(axis=(1, 2)) / (x * x).sum(axis=(1, 2))  # the clip's own share: 1 - a (the backgrounds are ~orthogonal)
    mixed = own < 0.99
    assert 0.35 < mixed.mean() < 0.65
    assert ((1 - own[mixed]) > 0.08).all() and ((1 - own[mixed]) < 0.42).all()
    levels = np.sqrt((out[mixed] ** 2).mean(axis=(1, 2)) / (x[mixed] ** 2).mean(axis=(1, 2)))
    assert (levels < 1.01).all()  # a same-level background mixed in never makes a clip louder


def test_spec_masks_cover_at_most_and_up_to_the_configured_widths():
    x = np.ones((400, 50, 20), "float32")
    out = np.asarray(SpecMasking(time_masks=1, time_width=7, freq_masks=1, freq_width=4, fill="zero", seed=6)(x, training=True))
    time_masked = (out == 0).all(axis=2)  # a frame masked across all bands
    freq_masked = (out == 0).all(axis=1)
    time_widths, freq_widths = time_masked.sum(axis=1), freq_masked.sum(axis=1)
    assert time_widths.max() == 7 and freq_widths.max() == 4 and time_widths.min() == 0
    assert set(np.unique(time_widths)) == set(range(8))
    for row in time_masked:  # one contiguous run
        idx = np.flatnonzero(row)
        assert len(idx) == 0 or idx[-1] - idx[0] + 1 == len(idx)
    masked = np.asarray(SpecMasking(time_masks=3, time_width=5, freq_masks=2, freq_width=3, seed=7)(x * 2.0, training=True))
    assert masked.shape == x.shape and np.allclose(masked, 2.0)  # fill: mean of a constant is the constant
    np.testing.assert_array_equal(np.asarray(SpecMasking(seed=0)(x)), x)


@pytest.mark.parametrize("layer", [AudioAugment(seed=3, crop_fit="resize", mix_source="noise"), SpecMasking(seed=1, fill="zero")])
def test_layers_round_trip_through_config_and_keras_files(layer, tmp_path):
    shape = (T, 1) if isinstance(layer, AudioAugment) else (40, 16)
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    inputs = keras.Input(shape)
    model = keras.Model(inputs, layer(inputs))
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    assert again.layers[1].get_config() == layer.get_config()


def test_seeded_layers_repeat_and_disabled_stages_are_left_out():
    x = clips(8)
    a, b = (np.asarray(AudioAugment(seed=9)(x, training=True)) for _ in range(2))
    np.testing.assert_array_equal(a, b)
    still = AudioAugment(crop_scale=(1.0, 1.0), mix_probability=0.0, gain_db=(0.0, 0.0), noise_probability=0.0, seed=0)
    assert still.stages() == []
    np.testing.assert_array_equal(np.asarray(still(x, training=True)), x)


@pytest.mark.parametrize(
    "kwargs, key",
    [
        ({"crop_scale": (0.0, 1.0)}, "crop_scale"),
        ({"mix_probability": 2.0}, "mix_probability"),
        ({"noise_probability": -1.0}, "noise_probability"),
        ({"snr_db": (20.0, 10.0)}, "snr_db"),
        ({"mix_source": "rain"}, "mix_source"),
    ],
)
def test_bad_arguments_name_the_composite_key(kwargs, key):
    with pytest.raises(ArgumentError) as info:
        AudioAugment(**kwargs)
    assert info.value.argument == key


@pytest.mark.slow
def test_frontend_and_augmenters_train_inside_a_jitted_jax_model():
    run_on_jax(
        """
import keras, numpy as np
from kssl.augment.audio_augment import AudioAugment
from kssl.augment.spec_masking import SpecMasking
from kssl.audio.log_mel import LogMelSpectrogram
inputs = keras.Input((4000, 1))
h = LogMelSpectrogram(sample_rate=8000, n_mels=16, frame_length=200, frame_step=100)(AudioAugment(seed=0, mix_source="noise")(inputs, training=True))
h = SpecMasking(seed=0)(h, training=True)
model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling1D()(h)))
model.compile(optimizer="sgd", loss="mse", jit_compile=True)
loss = model.fit(np.random.default_rng(0).uniform(-0.5, 0.5, (8, 4000, 1)).astype("float32"), np.zeros((8, 1)), batch_size=4, verbose=0).history["loss"][0]
assert np.isfinite(loss)
print("JAX-OK")
"""
    )


def test_audio_pictures_write_a_png_and_tensorboard_audio(tmp_path):
    from kssl.viz.audio_pictures import write_audio_pictures

    x = clips(3, amplitude=0.5)
    layer = AudioAugment(seed=0)
    views = [np.asarray(layer(x, training=True)) for _ in range(2)]
    paths = write_audio_pictures(tmp_path, x, views, sample_rate=8000, n_mels=16, max_clips=2)
    assert paths == [tmp_path / "audio_views.png"] and paths[0].stat().st_size > 1000
    from PIL import Image

    with Image.open(paths[0]) as im:
        assert im.width > im.height  # 3 columns (original + 2 views), 2 rows
    assert len(list((tmp_path / "logs" / "audio").glob("events.out.tfevents.*"))) >= 1
    assert write_audio_pictures(tmp_path / "crop", x, [x[:, :400]], sample_rate=8000, n_mels=16)  # a shorter view is drawn to its own length
    with pytest.raises(ValueError, match="as many clips"):
        write_audio_pictures(tmp_path, x, [x[:1]], sample_rate=8000)
