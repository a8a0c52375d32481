"""``shape_scenes``: generated RGB scenes of one or two coloured shapes with varied captions (offline, deterministic).

The image-text default dataset of CLIP/SigLIP. Some colour+shape compositions are held out of
training entirely (images and captions) and appear only in the test split, where
``context["heldout_test"]`` marks them: zero-shot scores on those images measure whether the
model composes "red" and "triangle" without having seen a red triangle.
"""

from __future__ import annotations

import numpy as np

from kssl.checks import check_int, check_number
from kssl.data._prep import check_image_args, common_args
from kssl.data.scene_captions import SceneObject, describe
from kssl.data.splits import DataSplits
from kssl.errors import ArgumentError

SHAPES = ("circle", "square", "triangle", "diamond", "cross")
COLOURS = {
    "red": (0.9, 0.15, 0.1),
    "green": (0.15, 0.8, 0.2),
    "blue": (0.15, 0.3, 0.95),
    "yellow": (0.95, 0.85, 0.1),
    "magenta": (0.85, 0.2, 0.8),
    "cyan": (0.1, 0.8, 0.85),
}
# One held-out pair per shape, each colour at most once: every colour and every shape is still seen in training.
HELD_OUT = ("red triangle", "green circle", "blue square", "yellow cross", "magenta diamond")
# Radii as fractions of the image side: (small, big) ranges for a lone object and for a pair (each in its half).
RADII = {1: ((0.13, 0.18), (0.26, 0.33)), 2: ((0.09, 0.12), (0.17, 0.21))}
SUPERSAMPLE = 3  # shapes are drawn on a 3x finer grid and averaged: anti-aliased edges


def shape_mask(shape: str, dx: np.ndarray, dy: np.ndarray, r: float) -> np.ndarray:
    """Whether each offset (dx, dy) from a shape's centre lies inside a shape of radius ``r`` (y grows downwards)."""
    if shape == "circle":
        return dx**2 + dy**2 <= r**2
    if shape == "square":
        return (np.abs(dx) <= 0.85 * r) & (np.abs(dy) <= 0.85 * r)
    if shape == "triangle":  # apex up, base at 0.7 r below the centre
        depth = (dy + r) / (1.7 * r)
        return (depth >= 0) & (depth <= 1) & (np.abs(dx) <= depth * r)
    if shape == "diamond":
        return np.abs(dx) + np.abs(dy) <= 1.1 * r
    if shape == "cross":
        arm = 0.33 * r
        return ((np.abs(dx) <= arm) & (np.abs(dy) <= r)) | ((np.abs(dy) <= arm) & (np.abs(dx) <= r))
    raise ValueError(f"unknown shape {shape!r}")


def render(objects: list[SceneObject], image_size: int, rng: np.random.Generator) -> np.ndarray:
    """One (S, S, 3) float32 image in [0, 1]: a dark, slightly noisy background and the objects in their colours (jittered)."""
    fine = (np.arange(image_size * SUPERSAMPLE) + 0.5) / SUPERSAMPLE
    xs, ys = np.meshgrid(fine, fine)
    image = np.full((image_size, image_size, 3), rng.uniform(0.02, 0.12), "float32")
    image += rng.normal(0.0, 0.02, image.shape).astype("float32")
    for obj in objects:
        cover = shape_mask(obj.shape, xs - obj.x, ys - obj.y, obj.radius).astype("float32")
        cover = cover.reshape(image_size, SUPERSAMPLE, image_size, SUPERSAMPLE).mean(axis=(1, 3))[..., None]
        colour = np.clip(np.asarray(COLOURS[obj.colour], "float32") + rng.normal(0.0, 0.04, 3), 0.0, 1.0)
        image = image * (1.0 - cover) + colour * cover
    return np.clip(image, 0.0, 1.0).astype("float32")


def _pairs(allowed: list[tuple[str, str]], rng, k: int) -> list[tuple[str, str]]:
    return [allowed[i] for i in rng.integers(0, len(allowed), k)]


def _scene(rng, image_size: int, two: bool, first_pair, other_pairs) -> tuple[list[SceneObject], str]:
    """Objects (the big one first when alone or drawn first) and the layout of one scene."""
    s = float(image_size)
    n = 2 if two else 1
    (small_lo, small_hi), (big_lo, big_hi) = RADII[n]
    if not two:
        colour, shape = first_pair
        size = "big" if rng.random() < 0.5 else "small"
        r = s * rng.uniform(*((big_lo, big_hi) if size == "big" else (small_lo, small_hi)))
        x, y = rng.uniform(r, s - r, 2)
        return [SceneObject(shape, colour, size, float(x), float(y), float(r))], "single"
    layout = "horizontal" if rng.random() < 0.5 else "vertical"
    big_first = rng.random() < 0.5
    objects = []
    for slot, (colour, shape) in enumerate((first_pair, other_pairs[0])):
        size = "big" if (slot == 0) else "small"  # the first drawn pair is the big object (the label)
        r = s * rng.uniform(*((big_lo, big_hi) if size == "big" else (small_lo, small_hi)))
        half = 0 if (slot == 0) == big_first else 1  # which half it sits in: left/top (0) or right/bottom (1)
        along = rng.uniform(half * s / 2 + r, (half + 1) * s / 2 - r)
        across = rng.uniform(r, s - r)
        x, y = (along, across) if layout == "horizontal" else (across, along)
        objects.append((half, SceneObject(shape, colour, size, float(x), float(y), float(r))))
    objects.sort(key=lambda item: item[0])  # the first object is on the left (or top): captions rely on it
    return [o for _, o in objects], layout


def generate(n: int, image_size: int, captions_per_image: int, two_fraction: float, allowed, held_out, heldout_fraction: float, rng):
    """``n`` scenes: images (n, S, S, 3), labels (the big/lone object's shape id), captions, whether each holds a
    held-out pair, and the scenes' objects."""
    images = np.empty((n, image_size, image_size, 3), "float32")
    labels = np.empty(n, "int32")
    captions, heldout, scenes = [], np.zeros(n, bool), []
    for i in range(n):
        two = rng.random() < two_fraction
        forced = bool(held_out) and rng.random() < heldout_fraction
        first = _pairs(held_out, rng, 1)[0] if forced else _pairs(allowed, rng, 1)[0]
        objects, layout = _scene(rng, image_size, two, first, _pairs(allowed, rng, 1))
        images[i] = render(objects, image_size, rng)
        big = next(o for o in objects if o.size == "big") if two else objects[0]
        labels[i] = SHAPES.index(big.shape)
        captions.append(describe(objects, layout, image_size, captions_per_image, rng))
        heldout[i] = any((o.colour, o.shape) in held_out for o in objects)
        scenes.append(objects)
    return images, labels, captions, heldout, scenes


def _held_out_pairs(held_out) -> list[tuple[str, str]]:
    if isinstance(held_out, str) or not isinstance(held_out, (list, tuple)):
        raise ArgumentError("held_out", f'expected a list of "colour shape" pairs such as ["red triangle"], got {held_out!r}.')
    pairs = []
    for item in held_out:
        parts = str(item).split()
        if len(parts) != 2 or parts[0] not in COLOURS or parts[1] not in SHAPES:
            raise ArgumentError(
                "held_out", f"{item!r} is not a colour and a shape; colours: {', '.join(COLOURS)}; shapes: {', '.join(SHAPES)} (e.g. 'red triangle')."
            )
        pairs.append((parts[0], parts[1]))
    if len(set(pairs)) != len(pairs):
        raise ArgumentError("held_out", f"lists a pair twice: {list(held_out)!r}.")
    for shape in SHAPES:
        if all((colour, shape) in pairs for colour in COLOURS):
            raise ArgumentError("held_out", f"holds out every colour of {shape!r}: training would never show a {shape}; keep at least one.")
    return pairs


def shape_scenes(
    num_train: int = 2000,
    num_test: int = 500,
    image_size: int = 32,
    captions_per_image: int = 5,
    two_object_fraction: float = 0.5,
    held_out=HELD_OUT,
    heldout_test_fraction: float = 0.3,
    batch_size: int = 128,
    seed: int = 0,
    limit: int | None = None,
) -> DataSplits:
    """Generated scenes of one or two coloured shapes with several captions each (see docs/clip.md).

    Every image is ``image_size`` pixels square: a dark background with noise and one shape
    (``circle square triangle diamond cross``; ``red green blue yellow magenta cyan``; ``small`` or
    ``big``; anywhere), or two (one big, one small) side by side or one above the other. Each image
    has ``captions_per_image`` different captions drawn from ten phrasings (attributes, position,
    relations: "a small red circle to the left of a big blue square"). The label is the shape of
    the lone or big object (``class_names``: the shapes). The colour+shape pairs in ``held_out``
    never occur in training images or captions; about ``heldout_test_fraction`` of the test scenes
    have one as their big object, and ``context["heldout_test"]`` marks every test image that holds one.
    ``context`` also carries ``train_captions`` and ``test_captions`` (lists of lists of str).
    Deterministic given ``seed``.

    Args:
        num_train: training scenes.
        num_test: test scenes.
        image_size: side of the square RGB images (>= 16).
        captions_per_image: captions per image (1-10).
        two_object_fraction: fraction of scenes with two shapes.
        held_out: "colour shape" pairs kept out of training.
        heldout_test_fraction: fraction of test scenes whose big object is a held-out pair.
        batch_size: training batch size.
        seed: seed of the scenes, captions and colours.
        limit: keep only the first N training scenes (small experiments, tests).
    """
    num_train = check_int("num_train", num_train, low=2)
    num_test = check_int("num_test", num_test, low=1)
    check_image_args(image_size, 3, minimum=16)
    captions_per_image = check_int("captions_per_image", captions_per_image, low=1, high=10)
    two_fraction = check_number("two_object_fraction", two_object_fraction, low=0.0, high=1.0)
    heldout_fraction = check_number("heldout_test_fraction", heldout_test_fraction, low=0.0, high=1.0)
    common_args(batch_size, seed, limit)
    pairs = _held_out_pairs(held_out)
    allowed = [(c, s) for c in COLOURS for s in SHAPES if (c, s) not in pairs]
    rng = np.random.default_rng(seed)
    x_tr, y_tr, cap_tr, _, _ = generate(
        num_train if limit is None else min(num_train, limit), image_size, captions_per_image, two_fraction, allowed, [], 0.0, rng
    )
    test_rng = np.random.default_rng([seed, 1])  # the test split does not depend on num_train or limit
    x_te, y_te, cap_te, heldout, _ = generate(num_test, image_size, captions_per_image, two_fraction, allowed, pairs, heldout_fraction, test_rng)
    context = {"train_captions": cap_tr, "test_captions": cap_te, "heldout_test": heldout}
    return DataSplits(x_tr, y_tr, x_te, y_te, batch_size=batch_size, class_names=list(SHAPES), context=context)
