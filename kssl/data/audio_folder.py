"""A directory of audio clips (WAV; FLAC with soundfile); class sub-folders give labels (the Speech Commands layout)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kssl.checks import check_choice, check_int, check_number
from kssl.data._prep import check_classes, check_training_samples, common_args, split, take
from kssl.data.audio_file import BadAudio, extensions, read_audio
from kssl.data.splits import DataSplits
from kssl.errors import KsslError
from kssl.progress import say

ON_ERROR = ("fail", "skip")
MAX_NAMED = 5  # skipped files named in the message


def _is_audio(f: Path, suffixes) -> bool:
    return f.is_file() and f.suffix.lower() in suffixes and not f.name.startswith(".")


def scan(root: Path, key: str):
    """(files, labels or None, class names) for ``root``: ``root/<class>/**/clip.wav`` or loose ``root/clip.wav``."""
    suffixes = extensions()
    if not root.is_dir():
        raise KsslError(
            f"data.{key}: no such folder {str(root)!r}. Give a directory of audio files "
            "(one sub-folder per class gives labels; files directly inside it are unlabeled)."
        )
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and not p.name.startswith("_"))
    files, labels = [], []
    for i, name in enumerate(classes):
        for f in sorted((root / name).rglob("*")):
            if _is_audio(f, suffixes):
                files.append(f)
                labels.append(i)
    loose = sorted(f for f in root.iterdir() if _is_audio(f, suffixes))
    if not files and not loose:
        raise KsslError(
            f"data.{key}: no audio files found in {str(root)!r} (looked for {', '.join(suffixes)} files in it and in its sub-folders"
            f"{'' if '.flac' in suffixes else '; FLAC needs `pip install soundfile`'}). Point it at a folder of clips."
        )
    if files and loose:
        raise KsslError(
            f"data.{key}: {str(root)!r} mixes clips in class sub-folders with {len(loose)} loose clip(s) such as {loose[0].name!r}; "
            "put every clip in a class folder (labeled), or none (unlabeled)."
        )
    if loose:
        return loose, None, []
    used = sorted({classes[i] for i in labels})
    if used != classes:  # class folders without clips would be phantom classes
        index = {c: j for j, c in enumerate(used)}
        labels = [index[classes[i]] for i in labels]
        classes = used
    return files, np.array(labels, "int32"), classes


def read_clips(files, labels, sample_rate: int, samples: int, on_error: str, key: str):
    """(clips (N, samples, 1), labels) of the readable files; an unreadable one raises (fail) or is dropped and counted (skip)."""
    clips, keep, bad = [], [], []
    for i, f in enumerate(files):
        try:
            clips.append(read_audio(f, sample_rate, samples))
            keep.append(i)
        except BadAudio as exc:
            if on_error == "fail":
                raise KsslError(f"data.{key}: the audio file {str(f)!r} {exc}. Remove or replace it, or set on_error: skip to leave such files out.") from None
            bad.append((f, str(exc)))
    if bad:
        named = "; ".join(f"{str(f)!r} ({why})" for f, why in bad[:MAX_NAMED])
        more = f" and {len(bad) - MAX_NAMED} more" if len(bad) > MAX_NAMED else ""
        say(f"data.{key}: skipped {len(bad)} of {len(files)} audio file(s) (on_error: skip): {named}{more}")
    x = np.stack(clips)[..., None] if clips else np.zeros((0, samples, 1), np.float32)
    return x, (None if labels is None else np.asarray(labels)[keep]), [f for f, _ in bad]


def _drop_empty_classes(labels, classes):
    """Labels re-indexed over the classes that still have clips (all of a class's files may have been skipped)."""
    if labels is None or len(labels) == 0:
        return labels, classes
    used = np.unique(labels)
    if len(used) == len(classes):
        return labels, classes
    return np.searchsorted(used, labels).astype("int32"), [classes[i] for i in used]


def audio_folder(
    path: str,
    sample_rate: int = 16000,
    duration: float = 1.0,
    test_path: str | None = None,
    on_error: str = "fail",
    batch_size: int = 64,
    test_fraction: float = 0.2,
    seed: int = 0,
    limit: int | None = None,
) -> DataSplits:
    """Clips under ``path``: ``path/<class>/*.wav`` gives labels (Speech Commands layout), loose ``path/*.wav`` unlabeled data.

    Each file is decoded (WAV with scipy.io.wavfile: 8/16/32-bit PCM or float; FLAC when
    ``soundfile`` is installed), its channels averaged to mono, resampled to ``sample_rate``
    (polyphase, ``scipy.signal.resample_poly``), clipped to [-1, 1], and cut or zero-padded at
    the end to ``duration`` seconds. ``x_train``/``x_test`` are float32 (N, T, 1) waveforms,
    T = ``round(sample_rate * duration)``; ``context["sample_rate"]`` is the rate, passed to every
    factory that names it. Sub-folders starting with ``_`` (``_background_noise_``) are ignored.

    Args:
        path: the training folder.
        sample_rate: output rate in Hz.
        duration: clip length in seconds.
        test_path: a held-out folder with the same class sub-folders; without it a stratified
            ``test_fraction`` of labeled clips is held out.
        on_error: ``fail`` (an unreadable, empty or NaN/Inf file stops with its name) or ``skip``
            (left out; the count and the first names are reported).
        batch_size, test_fraction, seed, limit: as for every dataset.
    """
    sample_rate = check_int("sample_rate", sample_rate, low=1000, high=384000)
    duration = check_number("duration", duration, low=0.01, high=600.0)
    check_choice("on_error", on_error, ON_ERROR)
    common_args(batch_size, seed, limit, test_fraction)
    samples = int(round(sample_rate * duration))
    files, labels, classes = scan(Path(str(path)).expanduser(), "path")
    x, labels, _ = read_clips(files, labels, sample_rate, samples, on_error, "path")
    labels, classes = _drop_empty_classes(labels, classes)
    fix = "Add a second class sub-folder, or move the clips directly into the folder (unlabeled clips)."
    check_classes(labels, f"data.path {str(path)!r}", classes, fix)
    if test_path is not None:
        test_files, test_labels, test_classes = scan(Path(str(test_path)).expanduser(), "test_path")
        if test_classes != classes:
            raise KsslError(
                f"data.test_path: class folders {test_classes} differ from those of data.path {classes}; give both folders the same class sub-folders."
            )
        x_te, y_te, _ = read_clips(test_files, test_labels, sample_rate, samples, on_error, "test_path")
        x_tr, y_tr = x, labels
    else:
        x_tr, y_tr, x_te, y_te = split(x, labels, test_fraction, seed)
    x_tr, y_tr = take(limit, x_tr, y_tr)
    check_training_samples(x_tr, f"data.path {str(path)!r}")
    return DataSplits(x_tr, y_tr, x_te, y_te, batch_size=batch_size, class_names=classes or None, context={"sample_rate": sample_rate})
