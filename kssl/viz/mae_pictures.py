"""MAE's picture: input images, their masked versions and the reconstructions, as a PNG and in TensorBoard."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kssl.viz.grid import save_image_grid
from kssl.viz.tensorboard import log_images

FILE = "mae_reconstructions.png"
TAG = "mae/input_masked_reconstruction"


def mae_rows(images, masked, reconstructed, ncols: int = 8) -> np.ndarray:
    """Interleave the three batches row by row: ``ncols`` inputs, their masked versions, their reconstructions, then the next ``ncols``."""
    images, masked, reconstructed = (np.asarray(a, dtype=np.float32) for a in (images, masked, reconstructed))
    if not images.shape == masked.shape == reconstructed.shape:
        raise ValueError(f"mae_rows: expected three batches of one shape, got {images.shape}, {masked.shape}, {reconstructed.shape}.")
    parts = [part for s in range(0, len(images), ncols) for part in (images[s : s + ncols], masked[s : s + ncols], reconstructed[s : s + ncols])]
    return np.concatenate(parts, axis=0)


def write_mae_pictures(run_dir, images, masked, reconstructed, ncols: int = 8) -> list:
    """Write ``mae_reconstructions.png`` into ``run_dir`` and the same grid to TensorBoard (``logs/images``); returns [the PNG's path].

    Rows of ``ncols`` images: the inputs, the inputs with their masked patches grey, and
    the reconstructions (the visible patches as they were, the masked ones as predicted).
    Images are (N, H, W, C) floats in [0, 1] (clipped); small images are enlarged to about
    64 pixels a side.
    """
    ncols = max(1, min(int(ncols), len(images)))
    rows = np.clip(mae_rows(images, masked, reconstructed, ncols), 0.0, 1.0)
    scale = max(1, 64 // max(rows.shape[1], rows.shape[2]))
    path = save_image_grid(rows, Path(run_dir) / FILE, ncols=ncols, scale=scale)
    log_images(Path(run_dir) / "logs" / "images", TAG, rows, step=0, ncols=ncols, scale=scale)
    return [path]
