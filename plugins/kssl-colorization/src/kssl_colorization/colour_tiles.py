"""Colour tiles of photographs shipped inside scikit-learn and scikit-image: offline colour data with labels."""

from __future__ import annotations

import numpy as np

from kssl.checks import check_choice, check_int, check_number
from kssl.data import DataSplits
from kssl.errors import ArgumentError

# name -> (package, loader): every image ships inside the package's wheel; nothing is downloaded (no pooch).
SOURCES = {
    "china": "sklearn",  # 427x640, a Chinese temple (sklearn.datasets.load_sample_images)
    "flower": "sklearn",  # 427x640, a flower
    "astronaut": "skimage",  # 512x512, Eileen Collins (skimage.data)
    "chelsea": "skimage",  # 300x451, a cat
    "coffee": "skimage",  # 400x600, a cup of coffee
    "rocket": "skimage",  # 427x640, a rocket on its launch pad
    "motorcycle": "skimage",  # 500x741, the left view of skimage.data.stereo_motorcycle
}


def load_source(name: str) -> np.ndarray:
    """The photograph ``name`` of :data:`SOURCES` as uint8 RGB (H, W, 3), read from the installed package."""
    if SOURCES[name] == "sklearn":
        from sklearn.datasets import load_sample_image

        return np.asarray(load_sample_image(f"{name}.jpg"), dtype="uint8")
    import skimage.data  # imported here: a heavy import, needed only for these images

    image = skimage.data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(skimage.data, name)()
    return np.asarray(image, dtype="uint8")[..., :3]


def cut_tiles(image: np.ndarray, tile_size: int, stride: int) -> np.ndarray:
    """Every ``tile_size`` x ``tile_size`` tile of ``image`` (H, W, C) whose corner is a multiple of ``stride``, row by row."""
    rows = range(0, image.shape[0] - tile_size + 1, stride)
    cols = range(0, image.shape[1] - tile_size + 1, stride)
    return np.stack([image[r : r + tile_size, c : c + tile_size] for r in rows for c in cols])


def _shrink(tiles: np.ndarray, image_size: int) -> np.ndarray:
    """float32 tiles in [0, 1] at ``image_size``: block means when the tile side is a multiple of it, else antialiased bilinear."""
    n, side = len(tiles), tiles.shape[1]
    x = tiles.astype("float32") / 255.0
    if side == image_size:
        return x
    if side % image_size == 0:
        f = side // image_size
        return x.reshape(n, image_size, f, image_size, f, 3).mean(axis=(2, 4)).astype("float32")
    import keras

    resized = keras.ops.image.resize(x, (image_size, image_size), interpolation="bilinear", antialias=True)
    return np.clip(np.asarray(keras.ops.convert_to_numpy(resized), "float32"), 0.0, 1.0)


def colour_tiles(
    sources=tuple(SOURCES),
    tile_size: int = 32,
    stride: int | None = None,
    image_size: int | None = 16,
    batch_size: int = 128,
    test_fraction: float = 0.2,
    seed: int = 0,
    limit: int | None = None,
) -> DataSplits:
    """Tiles cut from colour photographs bundled with scikit-learn and scikit-image, labelled by their photograph.

    Each source photograph is cut into ``tile_size`` tiles (every ``stride`` pixels; non-overlapping by
    default), each tile shrunk to ``image_size``; a tile's label is its photograph (``class_names`` are the
    source names). A stratified ``test_fraction`` of the tiles is held out for the evaluators. With the
    default stride no two tiles overlap, but held-out tiles are neighbours of training tiles: new views
    of the same scenes, not new scenes.

    Args:
        sources: photograph names (a list), any of china, flower (scikit-learn), astronaut, chelsea,
            coffee, rocket, motorcycle (scikit-image); at least two.
        tile_size: side of the tiles cut from the photographs (at most the smallest photograph's side).
        stride: step between tiles (default ``tile_size``: no overlap).
        image_size: side the tiles are shrunk (or grown) to; None keeps ``tile_size``.
        batch_size, test_fraction, seed, limit: as for every kssl dataset (``limit``: the first N training tiles).
    """
    if not isinstance(sources, (list, tuple)) or not sources:
        raise ArgumentError("sources", f"expected a list of photograph names such as [china, flower, astronaut], got {sources!r}.")
    names = [check_choice("sources", s, tuple(SOURCES)) for s in sources]
    if len(set(names)) < 2:
        raise ArgumentError("sources", f"expected two or more different photographs (the labels are the photographs), got {list(sources)!r}.")
    check_int("tile_size", tile_size, low=4)
    stride = tile_size if stride is None else check_int("stride", stride, low=1)
    image_size = tile_size if image_size is None else check_int("image_size", image_size, low=4, high=512)
    check_int("batch_size", batch_size, low=1)
    check_number("test_fraction", test_fraction, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    check_int("seed", seed, low=0)
    if limit is not None:
        check_int("limit", limit, low=2)
    images = {name: load_source(name) for name in dict.fromkeys(names)}
    small = {name: image.shape[:2] for name, image in images.items() if min(image.shape[:2]) < tile_size}
    if small:
        listed = ", ".join(f"{name} ({h}x{w})" for name, (h, w) in small.items())
        smallest = min(min(image.shape[:2]) for image in images.values())
        raise ArgumentError("tile_size", f"{tile_size} is larger than the photograph(s) {listed}. Use a tile_size of at most {smallest}.")
    class_names = sorted(images)
    tiles = [cut_tiles(images[name], tile_size, stride) for name in class_names]
    x = np.concatenate(tiles)
    y = np.concatenate([np.full(len(t), i, "int32") for i, t in enumerate(tiles)])
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(np.arange(len(x)), test_size=test_fraction, random_state=seed, stratify=y)
    train = train[:limit] if limit is not None else train
    return DataSplits(_shrink(x[train], image_size), y[train], _shrink(x[test], image_size), y[test], batch_size=batch_size, class_names=class_names)
