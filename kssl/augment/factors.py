"""Each random factor of an augmenter applied alone, with known parameters (for the ``invariance`` evaluator).

A factor is a callable ``factor(images, rng) -> (views, parameters)``: ``images`` float32 (N, H, W, C)
in [0, 1], ``rng`` a :class:`numpy.random.Generator` that draws the factor's parameters within the
augmenter's own ranges, ``views`` the transformed images (numpy, same shape) and ``parameters``
``{name: (N,) array}`` of what was drawn (``crop_area``, ``hue``, ...). A factor with no continuous
parameter (a flip, grayscale, solarisation) returns ``{}`` and is applied to every image: what a
probe can learn about it is whether it was applied.
"""

from __future__ import annotations

import math

import numpy as np


class AugmentationFactors:
    """The capability an augmenter declares to be measured factor by factor (``kssl.eval.invariance``).

    An augmenter class (kssl's ``simclr`` and ``affine``, or a plugin's) inherits from this
    mix-in next to ``keras.layers.Layer`` and implements :meth:`augmentation_factors`.
    Probabilities are ignored: every factor the augmenter can apply is listed, with the
    augmenter's ranges, so a factor that training leaves out (probability 0) can still be
    measured ("what did the representation not learn to ignore?").
    """

    def augmentation_factors(self, channels: int) -> dict:
        """``{factor name: factor}`` for images with ``channels`` channels (see this module's docstring)."""
        raise NotImplementedError(f"{type(self).__name__} must implement augmentation_factors(channels).")


def _numpy(x) -> np.ndarray:
    import keras

    return np.asarray(keras.ops.convert_to_numpy(x), dtype="float32")


def _crop_centres(side: float, size: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The box centre as a fraction of the side, as ``RandomResizedCrop.crop_box`` places it."""
    return (u * (side - size) + size / 2.0) / side


def simclr_factors(augmenter, channels: int) -> dict:
    """The factors of :class:`~kssl.augment.simclr_augment.SimCLRAugment`, built on its own ``crop``, ``color`` and ``blur`` layers.

    crop (area, aspect ratio, position; no flip), flip, colour_jitter (brightness, contrast and,
    for RGB, saturation and hue, always applied), grayscale (RGB only), blur (sigma) and solarize.
    """
    rgb = channels == 3
    factors = {}
    crop, color, blur = augmenter.crop, augmenter.color, augmenter.blur

    def crop_factor(images, rng):
        n, h, w = len(images), float(images.shape[1]), float(images.shape[2])
        area = rng.uniform(*crop.scale, n)
        ratio = np.exp(rng.uniform(math.log(crop.ratio[0]), math.log(crop.ratio[1]), n))
        u_x, u_y = rng.uniform(size=n), rng.uniform(size=n)
        views = crop.crop_box(images, area, ratio, u_x, u_y, np.zeros(n))
        cw = np.clip(w * np.sqrt(area * ratio), 1.0, w)
        ch = np.clip(h * np.sqrt(area / ratio), 1.0, h)
        return _numpy(views), {"crop_area": area, "crop_x": _crop_centres(w, cw, u_x), "crop_y": _crop_centres(h, ch, u_y)}

    def flip_factor(images, rng):
        n = len(images)
        return _numpy(crop.crop_box(images, np.ones(n), np.ones(n), np.zeros(n), np.zeros(n), np.ones(n))), {}

    def jitter_factor(images, rng):
        n, spread, turns = len(images), 0.8 * color.strength, 0.2 * color.strength
        params = {"brightness": rng.uniform(1 - spread, 1 + spread, n), "contrast": rng.uniform(1 - spread, 1 + spread, n)}
        if rgb:
            params.update(saturation=rng.uniform(1 - spread, 1 + spread, n), hue=rng.uniform(-turns, turns, n))
        as32 = {k: v.astype("float32") for k, v in params.items()}
        return _numpy(color.jitter(images, as32["brightness"], as32["contrast"], as32.get("saturation"), as32.get("hue"))), params

    def grayscale_factor(images, rng):
        gray = images @ np.array([0.299, 0.587, 0.114], "float32")
        return np.repeat(gray[..., None], 3, axis=-1).astype("float32"), {}

    def blur_factor(images, rng):
        sigma = rng.uniform(*blur.sigma, len(images))
        return _numpy(blur.blur(images, sigma.astype("float32"))), {"blur_sigma": sigma}

    def solarize_factor(images, rng):
        return np.where(images >= 0.5, 1.0 - images, images).astype("float32"), {}

    factors["crop"] = crop_factor
    factors["flip"] = flip_factor
    if color.strength > 0:
        factors["colour_jitter"] = jitter_factor
    if rgb:
        factors["grayscale"] = grayscale_factor
    factors["blur"] = blur_factor
    factors["solarize"] = solarize_factor
    return factors


def _affine(images, a0, a1, a2, b0, b1, b2) -> np.ndarray:
    """Per-sample affine resampling (output pixel (x, y) reads input (a0 x + a1 y + a2, b0 x + b1 y + b2)), zeros outside."""
    import keras

    n = len(images)
    transform = np.stack([a0, a1, a2, b0, b1, b2, np.zeros(n), np.zeros(n)], axis=1).astype("float32")
    return _numpy(keras.ops.image.affine_transform(images, transform, interpolation="bilinear", fill_mode="constant"))


def affine_factors(augmenter, channels: int) -> dict:
    """The factors of :class:`~kssl.augment.random_affine.RandomAffine`: translation (x, y shift as fractions of the side)
    and rotation (degrees), each within the augmenter's range, pixels moved in from outside 0 (as Keras' layers do)."""
    factors = {}

    def translation_factor(images, rng):
        n, h, w = len(images), images.shape[1], images.shape[2]
        dx, dy = (rng.uniform(-augmenter.translation, augmenter.translation, n) for _ in range(2))
        ones, zeros = np.ones(n), np.zeros(n)
        return _affine(images, ones, zeros, -dx * w, zeros, ones, -dy * h), {"translation_x": dx, "translation_y": dy}

    def rotation_factor(images, rng):
        n, h, w = len(images), images.shape[1], images.shape[2]
        degrees = rng.uniform(-augmenter.rotation, augmenter.rotation, n)
        c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
        cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
        return _affine(images, c, -s, cx - c * cx + s * cy, s, c, cy - s * cx - c * cy), {"rotation": degrees}

    if augmenter.translation > 0:
        factors["translation"] = translation_factor
    if augmenter.rotation > 0:
        factors["rotation"] = rotation_factor
    return factors
