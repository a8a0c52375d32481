"""sRGB <-> CIE Lab in ``keras.ops`` (any backend), the encoder's luminance input, and the quantised ab bins.

The conversion is the standard one (IEC 61966-2-1 sRGB, D65 white, CIE 1976 L*a*b*), with the
constants scikit-image's ``skimage.color.rgb2lab`` uses, so that the two agree to float precision.
"""

from __future__ import annotations

import numpy as np
from keras import ops

# sRGB (linear) -> XYZ, D65 (the matrix of skimage.color.colorconv.xyz_from_rgb)
XYZ_FROM_RGB = np.array(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]],
    dtype="float32",
)
D65_WHITE = np.array([0.95047, 1.0, 1.08883], dtype="float32")  # CIE 1931 2° observer
AB_RANGE = 110.0  # |a|, |b| of sRGB colours stay below 110 (Zhang et al. 2016 quantise [-110, 110])


def rgb_to_lab(rgb):
    """CIE L*a*b* of sRGB images in [0, 1], shape (..., 3): L in [0, 100], a and b roughly in [-110, 110].

    Values are clipped to [0, 1] first. Pure ``keras.ops``: runs inside a model on every backend.
    """
    rgb = ops.clip(ops.cast(rgb, "float32"), 0.0, 1.0)
    linear = ops.where(rgb <= 0.04045, rgb / 12.92, ops.power((rgb + 0.055) / 1.055, 2.4))
    xyz = ops.matmul(linear, ops.convert_to_tensor(XYZ_FROM_RGB.T)) / ops.convert_to_tensor(D65_WHITE)
    # the CIE f(t): a cube root above (6/29)^3, a line below (skimage's constants 0.008856 and 7.787)
    f = ops.where(xyz > 0.008856, ops.power(ops.maximum(xyz, 0.008856), 1.0 / 3.0), 7.787 * xyz + 16.0 / 116.0)
    fx, fy, fz = f[..., 0], f[..., 1], f[..., 2]
    return ops.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis=-1)


def luminance_rgb(rgb):
    """What the colorization encoder sees: the lightness L*/100 of sRGB images (..., 3), in [0, 1], repeated into 3 channels.

    An RGB image whose three channels are equal is a gray image, so an encoder built for the
    dataset's 3-channel input takes it unchanged; colour cannot reach the encoder through it.
    """
    lightness = rgb_to_lab(rgb)[..., :1] / 100.0
    return ops.concatenate([lightness] * 3, axis=-1)


def ab_bins(bin_size: float = 10.0) -> np.ndarray:
    """The in-gamut ab bin centres (Q, 2), float32: multiples of ``bin_size`` that some sRGB colour rounds to.

    Zhang et al. (2016) quantise ab on a grid of 10 and keep the Q = 313 in-gamut bins. Here the gamut
    is sampled with a 64^3 grid of the RGB cube (deterministic), converted with :func:`rgb_to_lab`, and
    each colour is rounded to its nearest grid point; the grid points hit are the bins, in sorted order.
    """
    levels = np.linspace(0.0, 1.0, 64, dtype="float32")
    cube = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(-1, 3)
    ab = np.asarray(ops.convert_to_numpy(rgb_to_lab(cube)))[:, 1:]
    grid = np.unique(np.round(ab / bin_size).astype("int64"), axis=0)
    return (grid * bin_size).astype("float32")
