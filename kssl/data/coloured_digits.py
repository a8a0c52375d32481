"""The scikit-learn digits as RGB images whose colour is either a nuisance or the label (generated offline)."""

from __future__ import annotations

import numpy as np

from kssl.checks import check_choice, check_int
from kssl.data._prep import check_image_args, check_training_samples, common_args, resize, split, take
from kssl.data.splits import DataSplits

# Names of the hues at 30-degree steps, for the class names of `label: colour`.
_HUE_NAMES = ("red", "orange", "yellow", "chartreuse", "green", "spring", "cyan", "azure", "blue", "violet", "magenta", "rose")
SATURATION = (0.6, 1.0)  # drawn per image in both modes: only the hue carries the colour class
VALUE = (0.7, 1.0)


def hsv_to_rgb(h, s, v) -> np.ndarray:
    """(N,) hue in turns, saturation and value in [0, 1] -> (N, 3) RGB in [0, 1] (the standard hexcone model)."""
    h, s, v = (np.asarray(a, "float64") for a in (h, s, v))
    k = (np.array([5.0, 3.0, 1.0]) + 6.0 * (h[:, None] % 1.0)) % 6.0
    return (v[:, None] - v[:, None] * s[:, None] * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)).astype("float32")


def colour_names(num_colours: int) -> list[str]:
    """The classes of ``label: colour``: hue ``k / num_colours`` of a turn, named after the nearest 30-degree hue."""
    names = []
    for k in range(num_colours):
        degrees = 360.0 * k / num_colours
        nearest = _HUE_NAMES[int(round(degrees / 30.0)) % 12]
        names.append(nearest if degrees % 30 == 0 else f"{nearest}-{degrees:.0f}")
    return names


def coloured_digits(
    label: str = "digit",
    num_colours: int = 4,
    image_size: int = 32,
    batch_size: int = 256,
    test_fraction: float = 0.2,
    seed: int = 0,
    limit: int | None = None,
) -> DataSplits:
    """The 1797 scikit-learn digits as RGB strokes on black, tinted per image (a generated dataset, offline).

    Every image is its grey digit (pixel values 0..16 scaled to [0, 1], upsampled bilinearly)
    times one RGB colour of hue ``h``, saturation ~ U(0.6, 1) and value ~ U(0.7, 1). What the
    label is decides what colour means:

    - ``label: digit``: ``h`` ~ U(0, 1) per image, independent of the digit; the label is the
      digit (10 classes). Colour is a nuisance: an encoder should ignore it.
    - ``label: colour``: each image draws a colour class ``k`` uniformly from ``num_colours``
      and ``h = k / num_colours``; the label is ``k``, the digit shape is irrelevant to it.
      Colour is the signal: an encoder invariant to hue cannot recover the label.

    Deterministic given ``seed`` (colours, classes and the stratified train/test split).

    Args:
        label: ``digit`` (colour is a nuisance) or ``colour`` (colour is the label).
        num_colours: colour classes for ``label: colour`` (2..12; hues evenly spaced).
        image_size: side of the square images (>= 8).
        batch_size: training batch size.
        test_fraction: stratified held-out fraction used by evaluators.
        seed: seed of the colours and of the train/test split.
        limit: keep only the first N training images (small experiments, tests).
    """
    check_choice("label", label, ("digit", "colour"))
    num_colours = check_int("num_colours", num_colours, low=2, high=12)
    check_image_args(image_size, 3, minimum=8)
    common_args(batch_size, seed, limit, test_fraction)
    from sklearn.datasets import load_digits

    bunch = load_digits()
    grey = (bunch.images.astype("float32") / 16.0)[..., None]
    n = len(grey)
    rng = np.random.default_rng(seed)
    if label == "digit":
        hue = rng.uniform(0.0, 1.0, n)
        y, names = bunch.target.astype("int32"), [str(i) for i in range(10)]
    else:
        y = rng.integers(0, num_colours, n).astype("int32")
        hue, names = y / num_colours, colour_names(num_colours)
    colour = hsv_to_rgb(hue, rng.uniform(*SATURATION, n), rng.uniform(*VALUE, n))
    x_tr, y_tr, x_te, y_te = split(np.arange(n), y, test_fraction, seed)
    x_tr, y_tr = take(limit, x_tr, y_tr)
    check_training_samples(x_tr, "data (coloured_digits)")

    def prep(index):  # resize the grey strokes, then tint: (N, S, S, 1) * (N, 1, 1, 3)
        return (resize(grey[index], image_size) * colour[index][:, None, None, :]).astype("float32")

    return DataSplits(prep(x_tr), y_tr, prep(x_te), y_te, batch_size=batch_size, class_names=names)
