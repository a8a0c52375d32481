"""The log-mel front end against an independent numpy/scipy log-mel, in a model, and through serialisation."""

import keras
import numpy as np
import pytest

from kssl.audio.log_mel import LogMelSpectrogram
from kssl.errors import ArgumentError

SR = 8000
FREQS = (440.0, 1000.0, 2500.0)


def htk_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, np.float64) / 700.0)


def reference_log_mel(x, sr, n_mels, frame_length, frame_step, fft_length, fmin, fmax, floor):
    """Hann-windowed, centred (reflect-padded) STFT power -> triangular HTK mel bands (peak 1) -> log(. + floor)."""
    from scipy.signal import get_window

    pad = fft_length // 2
    xp = np.pad(np.asarray(x, np.float64), (pad, pad), mode="reflect")
    n_frames = 1 + len(x) // frame_step
    window = np.zeros(fft_length)
    left = (fft_length - frame_length) // 2
    window[left : left + frame_length] = get_window("hann", frame_length, fftbins=True)
    frames = np.stack([xp[i * frame_step : i * frame_step + fft_length] * window for i in range(n_frames)])
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    freqs = np.linspace(0, sr / 2, fft_length // 2 + 1)
    edges = np.linspace(htk_mel(fmin), htk_mel(fmax), n_mels + 2)
    m = htk_mel(freqs)[:, None]
    lower = (m - edges[None, :-2]) / (edges[None, 1:-1] - edges[None, :-2])
    upper = (edges[None, 2:] - m) / (edges[None, 2:] - edges[None, 1:-1])
    bank = np.maximum(0.0, np.minimum(lower, upper))
    bank[0] = 0.0  # the DC bin carries no band
    return np.log(power @ bank + floor)


def sine(freq, seconds=1.0, amplitude=0.5):
    t = np.arange(int(SR * seconds)) / SR
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype("float32")


def test_a_sine_peaks_in_the_mel_band_of_its_frequency_and_matches_numpy():
    layer = LogMelSpectrogram(sample_rate=SR, n_mels=40, frame_length=200, frame_step=80)
    x = np.stack([sine(f) for f in FREQS])[..., None]
    out = np.asarray(layer(x))
    assert out.shape == (3, 101, 40) == layer.compute_output_shape(x.shape)
    edges = np.linspace(htk_mel(20.0), htk_mel(SR / 2), 42)
    for row, freq in zip(out, FREQS):
        expected_band = int(np.argmin(np.abs(edges[1:-1] - htk_mel(freq))))  # the band whose centre is nearest
        assert abs(int(row[10:-10].mean(axis=0).argmax()) - expected_band) <= 1
        ref = reference_log_mel(x[FREQS.index(freq), :, 0], SR, 40, 200, 80, 256, 20.0, SR / 2, 1e-6)
        strong = ref > np.log(1e-2)  # compare where there is energy; log of tiny leakage differs in float32
        np.testing.assert_allclose(row[strong], ref[strong], atol=2e-2)


def test_silence_is_log_floor_and_mono_or_channel_inputs_agree():
    layer = LogMelSpectrogram(sample_rate=SR, n_mels=16, frame_length=200, frame_step=100, floor=1e-4)
    silent = np.asarray(layer(np.zeros((2, 800), "float32")))
    np.testing.assert_allclose(silent, np.log(1e-4), atol=1e-5)
    x = sine(700.0, 0.25)[None]
    np.testing.assert_allclose(np.asarray(layer(x)), np.asarray(layer(x[..., None])), atol=1e-5)


def test_runs_inside_a_model_and_round_trips(tmp_path):
    layer = LogMelSpectrogram(sample_rate=SR, n_mels=20, frame_length=200, frame_step=80, fft_length=512, min_freq=50.0, max_freq=3500.0, floor=1e-5)
    inputs = keras.Input((SR // 2, 1))
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling1D()(layer(inputs)))
    x = np.random.default_rng(0).uniform(-1, 1, (2, SR // 2, 1)).astype("float32")
    path = tmp_path / "m.keras"
    model.save(path)
    again = keras.models.load_model(path)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    clone = LogMelSpectrogram.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


@pytest.mark.parametrize(
    "kwargs, key",
    [
        ({"n_mels": 0}, "n_mels"),
        ({"floor": 0.0}, "floor"),
        ({"frame_length": 400, "fft_length": 256}, "fft_length"),
        ({"max_freq": 9000.0}, "max_freq"),
        ({"n_mels": 300}, "n_mels"),
    ],
)
def test_bad_arguments_name_the_key(kwargs, key):
    with pytest.raises(ArgumentError, match=key):
        LogMelSpectrogram(sample_rate=SR, **kwargs)
