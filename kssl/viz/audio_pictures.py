"""Audio augmentation pictures: log-mel spectrograms of clips and their augmented views (PNG), and the clips themselves in TensorBoard."""

from __future__ import annotations

from pathlib import Path

import numpy as np

FILE = "audio_views.png"
LOG_DIR = ("logs", "audio")


def _waveforms(x) -> np.ndarray:
    """(N, T) float32 clips from (N, T) or (N, T, 1) arrays (channels averaged), clipped to [-1, 1]."""
    x = np.asarray(x, np.float32)
    if x.ndim == 3:
        x = x.mean(axis=-1)
    if x.ndim != 2:
        raise ValueError(f"audio pictures: expected waveforms (N, T) or (N, T, C), got shape {x.shape}.")
    return np.clip(x, -1.0, 1.0)


def log_mels(waveforms, sample_rate: int, n_mels: int = 40) -> np.ndarray:
    """(N, frames, n_mels) log-mel spectrograms (25 ms windows every 10 ms) of (N, T) or (N, T, 1) clips."""
    from kssl.audio.log_mel import LogMelSpectrogram

    front = LogMelSpectrogram(sample_rate=int(sample_rate), n_mels=n_mels, frame_length=int(sample_rate) * 25 // 1000, frame_step=int(sample_rate) // 100)
    return np.asarray(front(_waveforms(waveforms)))


def save_spectrogram_grid(path, rows, titles, sample_rate: int, n_mels: int = 40) -> Path:
    """A PNG of log-mel spectrograms: one row per clip, one column per version (``titles``: the column titles).

    ``rows``: a list over columns of (N, T) clip batches (N shared; T may differ, e.g. a cropped view).
    """
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    spectra = [log_mels(r, sample_rate, n_mels) for r in rows]
    low, high = min(float(s.min()) for s in spectra), max(float(s.max()) for s in spectra)
    n, cols = len(spectra[0]), len(spectra)
    fig, axes = plt.subplots(n, cols, figsize=(2.6 * cols, 1.8 * n), squeeze=False, sharey=True)
    for c, (spec, title, clips) in enumerate(zip(spectra, titles, rows)):
        seconds = np.shape(_waveforms(clips))[1] / sample_rate
        for r in range(n):
            ax = axes[r, c]
            ax.imshow(spec[r].T, origin="lower", aspect="auto", vmin=low, vmax=high, cmap="magma", extent=(0, seconds, 0, n_mels))
            if r == 0:
                ax.set_title(title, fontsize=9)
            if c == 0:
                ax.set_ylabel("mel band", fontsize=8)
            if r == n - 1:
                ax.set_xlabel("seconds", fontsize=8)
            ax.tick_params(labelsize=7)
    fig.suptitle(f"log-mel spectrograms ({n_mels} bands, {sample_rate} Hz)", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")  # written whole, then renamed: never a half-written PNG
    fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
    tmp.replace(path)
    return path


def log_audio(log_dir, tag: str, waveforms, sample_rate: int, step: int = 0, max_outputs: int = 8) -> bool:
    """Write clips to a TensorBoard event file under ``log_dir`` (its Audio tab); False, writing nothing, without TensorFlow."""
    try:
        import tensorflow as tf
    except ImportError:
        return False
    clips = _waveforms(waveforms)[..., None]
    Path(log_dir).mkdir(parents=True, exist_ok=True)
    writer = tf.summary.create_file_writer(str(log_dir))
    with writer.as_default():
        tf.summary.audio(tag, tf.constant(clips), sample_rate=int(sample_rate), step=int(step), max_outputs=int(max_outputs))
    writer.flush()
    writer.close()
    return True


def write_audio_pictures(run_dir, original, views, sample_rate: int, n_mels: int = 40, max_clips: int = 4) -> list:
    """``audio_views.png`` in ``run_dir`` and TensorBoard audio under ``run_dir/logs/audio``; returns [the PNG's path].

    ``original``: clips (N, T) or (N, T, 1); ``views``: a list of augmented versions of them
    (e.g. a pretext task's two views), as many clips each, of any length. The PNG shows the first
    ``max_clips`` clips, one per row: the original's log-mel, then each view's. TensorBoard
    gets the same clips as audio under the tags ``audio/original``, ``audio/view_0``, ...
    """
    views = list(views)
    k = max(1, min(int(max_clips), len(original)))
    rows = [_waveforms(original)[:k]] + [_waveforms(v)[:k] for v in views]
    if any(len(r) != len(rows[0]) for r in rows):
        raise ValueError(f"write_audio_pictures: every view must hold as many clips as the original, got shapes {[r.shape for r in rows]}.")
    titles = ["original"] + [f"view {i}" for i in range(len(views))]
    path = save_spectrogram_grid(Path(run_dir) / FILE, rows, titles, sample_rate, n_mels)
    log_dir = Path(run_dir).joinpath(*LOG_DIR)
    for title, clips in zip(titles, rows):
        log_audio(log_dir, f"audio/{title.replace(' ', '_')}", clips, sample_rate, max_outputs=k)
    return [path]
