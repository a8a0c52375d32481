"""Tiling a batch of images into one picture and writing it as a PNG."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np


def is_image_batch(images) -> bool:
    """True for arrays shaped (N, H, W) or (N, H, W, C) with C in 1, 3 or 4."""
    shape = np.shape(images)
    return len(shape) == 3 or (len(shape) == 4 and shape[-1] in (1, 3, 4))


def _as_uint8(images: np.ndarray) -> np.ndarray:
    if images.dtype == np.uint8:
        return images
    images = np.nan_to_num(images.astype(np.float64), nan=0.0, posinf=1.0, neginf=0.0)
    return np.round(np.clip(images, 0.0, 1.0) * 255.0).astype(np.uint8)


def image_grid(images, ncols: int = 8, padding: int = 2, pad_value: float = 0.5, scale: int = 1) -> np.ndarray:
    """Tile ``images`` row by row into one uint8 array (H', W', C) with C = 1, 3 or 4.

    ``images``: (N, H, W) or (N, H, W, C), floats in [0, 1] (clipped; NaN -> 0)
    or uint8. ``ncols`` images per row (fewer when N is smaller); ``padding``
    pixels of ``pad_value`` (in [0, 1]) between and around the tiles; ``scale``
    enlarges every image by pixel repetition (nearest neighbour) first, so
    small images (8x8 digits) stay crisp.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if not is_image_batch(images):
        raise ValueError(f"image_grid: expected images shaped (N, H, W) or (N, H, W, C) with C in 1, 3, 4, got {np.shape(images)}.")
    if len(images) == 0:
        raise ValueError("image_grid: got no images (N = 0).")
    for name, value in (("ncols", ncols), ("scale", scale)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"image_grid: {name} must be an integer >= 1, got {value!r}.")
    if not isinstance(padding, (int, np.integer)) or padding < 0:
        raise ValueError(f"image_grid: padding must be an integer >= 0, got {padding!r}.")
    tiles = _as_uint8(images)
    if scale > 1:
        tiles = tiles.repeat(scale, axis=1).repeat(scale, axis=2)
    n, h, w, c = tiles.shape
    ncols = min(int(ncols), n)
    nrows = math.ceil(n / ncols)
    fill = int(round(float(np.clip(pad_value, 0.0, 1.0)) * 255))
    grid = np.full((nrows * (h + padding) + padding, ncols * (w + padding) + padding, c), fill, dtype=np.uint8)
    for i in range(n):
        r, col = divmod(i, ncols)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[top : top + h, left : left + w] = tiles[i]
    return grid


def save_image_grid(images, path, ncols: int = 8, padding: int = 2, pad_value: float = 0.5, scale: int = 1) -> Path:
    """Write :func:`image_grid` of ``images`` to ``path`` as a PNG (Pillow); returns the path.

    Grayscale images give a grayscale PNG, 3/4 channels RGB/RGBA. Parent folders
    are created; the file is written to a temporary name and renamed, so a
    reader never sees half a picture.
    """
    from PIL import Image

    grid = image_grid(images, ncols=ncols, padding=padding, pad_value=pad_value, scale=scale)
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[grid.shape[-1]]
    picture = Image.fromarray(grid[..., 0] if mode == "L" else grid, mode=mode)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    picture.save(tmp, format="PNG")
    tmp.replace(path)
    return path
