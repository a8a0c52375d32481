"""The audio_folder dataset: WAV files in class folders or loose, resampled, mono-mixed, cut or padded; bad files fail or are skipped."""

import numpy as np
import pytest
from scipy.io import wavfile

from kssl.data.audio_folder import audio_folder
from kssl.errors import ArgumentError, KsslError


def tone(freq, rate, seconds, amplitude=0.5):
    t = np.arange(int(rate * seconds)) / rate
    return amplitude * np.sin(2 * np.pi * freq * t)


def write(path, rate, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    wavfile.write(path, rate, data)
    return path


def speech_commands_layout(root, per_class=4):
    """Two classes in mixed formats: 16-bit stereo at 22050 Hz, 8-bit at 8 kHz, float32 at 16 kHz; plus an ignored _background_noise_."""
    for label, freq in (("high", 2000.0), ("low", 300.0)):
        for i in range(per_class):
            x = tone(freq, 22050, 0.5 + 0.25 * i)
            if i % 3 == 0:
                write(root / label / f"{i}.wav", 22050, (np.stack([x, x], axis=1) * 32767).astype(np.int16))
            elif i % 3 == 1:
                write(root / label / f"{i}.wav", 8000, (tone(freq, 8000, 1.5) * 127 + 128).astype(np.uint8))
            else:
                write(root / label / f"{i}.wav", 16000, tone(freq, 16000, 0.7).astype(np.float32))
    write(root / "_background_noise_" / "noise.wav", 16000, np.zeros(1600, np.int16))
    return root


def test_class_folders_give_labels_and_every_clip_is_resampled_mono_and_cut_or_padded(tmp_path):
    data = audio_folder(str(speech_commands_layout(tmp_path / "sc")), sample_rate=8000, duration=1.0, test_fraction=0.25)
    assert data.class_names == ["high", "low"]
    assert data.context == {"sample_rate": 8000}
    assert data.x_train.shape == (6, 8000, 1) and data.x_test.shape == (2, 8000, 1) and data.x_train.dtype == np.float32
    x = np.concatenate([data.x_train, data.x_test])[..., 0]
    y = np.concatenate([data.y_train, data.y_test])
    assert np.abs(x).max() <= 1.0
    for clip, label in zip(x, y):  # the tone's frequency survives resampling: the spectrum peaks where it should
        voiced = clip[: int(np.flatnonzero(np.abs(clip) > 1e-3)[-1])]
        peak = np.fft.rfftfreq(len(voiced), 1 / 8000)[np.abs(np.fft.rfft(voiced)).argmax()]
        assert abs(peak - (2000.0 if data.class_names[label] == "high" else 300.0)) < 20
    # a 0.5 s clip is zero-padded to 1 s, a 1.5 s clip cut to 1 s; amplitude kept (0.5 full scale)
    assert np.isclose(np.abs(x).max(axis=1), 0.5, atol=0.02).all()


def test_loose_files_are_unlabeled_and_a_test_folder_is_held_out(tmp_path):
    for i in range(3):
        write(tmp_path / "loose" / f"{i}.wav", 16000, (tone(440, 16000, 0.2) * 32767).astype(np.int16))
    data = audio_folder(str(tmp_path / "loose"), sample_rate=16000, duration=0.25)
    assert data.y_train is None and data.x_train.shape == (3, 4000, 1) and data.class_names is None
    train = speech_commands_layout(tmp_path / "train", per_class=2)
    test = speech_commands_layout(tmp_path / "test", per_class=1)
    data = audio_folder(str(train), test_path=str(test), sample_rate=8000, duration=0.5)
    assert data.x_train.shape == (4, 4000, 1) and data.x_test.shape == (2, 4000, 1) and list(data.y_test) == [0, 1]


def corrupt_files(root):
    (root / "low").mkdir(parents=True, exist_ok=True)
    (root / "low" / "empty_bytes.wav").write_bytes(b"")
    (root / "low" / "garbage.wav").write_bytes(b"RIFF\x00\x01 not a wave file at all")
    write(root / "high" / "no_frames.wav", 16000, np.zeros(0, np.int16))
    bad = tone(2000, 16000, 0.5).astype(np.float32)
    bad[100] = np.nan
    write(root / "high" / "nan.wav", 16000, bad)
    return {"empty_bytes.wav", "garbage.wav", "no_frames.wav", "nan.wav"}


def test_unreadable_empty_or_nan_files_fail_by_name_or_are_skipped_and_counted(tmp_path, capsys):
    root = speech_commands_layout(tmp_path / "sc")
    names = corrupt_files(root)
    with pytest.raises(KsslError, match=r"data.path: the audio file .*(empty_bytes|garbage|no_frames|nan)\.wav"):
        audio_folder(str(root), sample_rate=8000)
    data = audio_folder(str(root), sample_rate=8000, on_error="skip")
    assert len(data.x_train) + len(data.x_test) == 8 and np.isfinite(data.x_train).all()
    err = capsys.readouterr().err
    assert "skipped 4 of 12 audio file(s)" in err and all(name in err for name in names)


def test_single_file_errors_say_why(tmp_path):
    root = tmp_path / "one"
    write(root / "a" / "nan.wav", 8000, np.full(800, np.inf, np.float32))
    write(root / "b" / "ok.wav", 8000, np.zeros(800, np.int16))
    with pytest.raises(KsslError, match="nan.wav' holds 800 NaN or infinite sample"):
        audio_folder(str(root), sample_rate=8000)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"path": "/no/such/folder"}, "data.path: no such folder"),
        ({"sample_rate": 10}, "sample_rate"),
        ({"duration": 0.0}, "duration"),
        ({"on_error": "ignore"}, "on_error"),
    ],
)
def test_bad_arguments_are_named(tmp_path, kwargs, match):
    write(tmp_path / "x" / "0.wav", 8000, np.zeros(800, np.int16))
    args = {"path": str(tmp_path / "x"), **kwargs}
    with pytest.raises((KsslError, ArgumentError), match=match):
        audio_folder(**args)


def test_a_folder_without_audio_is_refused(tmp_path):
    (tmp_path / "pics").mkdir()
    (tmp_path / "pics" / "a.png").write_bytes(b"png")
    with pytest.raises(KsslError, match="no audio files found"):
        audio_folder(str(tmp_path / "pics"))
