"""Image summaries for TensorBoard."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kssl.viz.grid import image_grid


def log_images(log_dir, tag: str, images, step: int = 0, ncols: int = 8, padding: int = 2, scale: int = 1, as_grid: bool = True) -> bool:
    """Write ``images`` to a TensorBoard event file under ``log_dir`` (shown in its Images tab).

    ``as_grid=True`` logs one picture, the :func:`kssl.viz.image_grid` of all the
    images (same arguments); ``False`` logs each image (up to 64) under ``tag``.
    Images: (N, H, W) or (N, H, W, C), floats in [0, 1] or uint8. Needs
    TensorFlow's summary writer (installed with kssl's default backend); returns
    False, writing nothing, when TensorFlow is not importable, True otherwise.
    """
    try:
        import tensorflow as tf
    except ImportError:
        return False
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if as_grid:
        batch = image_grid(images, ncols=ncols, padding=padding, scale=scale)[None]
    else:
        batch = np.stack([image_grid(im[None], ncols=1, padding=0, scale=scale) for im in images[:64]])
    Path(log_dir).mkdir(parents=True, exist_ok=True)
    writer = tf.summary.create_file_writer(str(log_dir))
    with writer.as_default():
        tf.summary.image(tag, batch, step=int(step), max_outputs=len(batch))
    writer.flush()
    writer.close()
    return True


def log_scalars(log_dir, scores: dict, step: int) -> bool:
    """Write ``{name: value}`` as TensorBoard scalars under ``log_dir`` at ``step`` (False without TensorFlow)."""
    try:
        import tensorflow as tf
    except ImportError:  # TensorBoard event files need TensorFlow's summary writer
        return False
    Path(log_dir).mkdir(parents=True, exist_ok=True)
    writer = tf.summary.create_file_writer(str(log_dir))
    with writer.as_default():
        for name, value in scores.items():
            tf.summary.scalar(name, value, step=int(step))
    writer.flush()
    writer.close()
    return True
