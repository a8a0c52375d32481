"""Folders of small generated image files (PNG and JPEG) for the streaming tests: two classes a kNN can tell apart."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def stripes(rng, vertical: bool, size: int = 16) -> np.ndarray:
    """A (size, size, 3) uint8 image of stripes (vertical or horizontal) at a random phase and colour, with noise."""
    period = 4
    phase = rng.integers(0, period)
    wave = ((np.arange(size) + phase) // (period // 2)) % 2
    plane = np.tile(wave, (size, 1)) if vertical else np.tile(wave[:, None], (1, size))
    colour = rng.integers(120, 256, size=3)
    image = plane[..., None] * colour + rng.integers(0, 40, size=(size, size, 3))
    return np.clip(image, 0, 255).astype("uint8")


def write_folder(root: Path, per_class: int = 100, size: int = 16, seed: int = 0, loose: bool = False) -> list[Path]:
    """``root/<horizontal|vertical>/NNN.(png|jpg)`` (every third a JPEG); ``loose``: all directly in ``root``. Returns the paths."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    paths = []
    for label, name in enumerate(("horizontal", "vertical")):
        folder = root if loose else root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            path = folder / f"{name[0]}{i:04d}.{'jpg' if i % 3 == 0 else 'png'}"
            Image.fromarray(stripes(rng, bool(label), size)).save(path, quality=95)
            paths.append(path)
    return paths
