"""Which pixels a context encoder hides, and how the hidden region is filled (pure ``keras.ops``).

Pathak, Krähenbühl, Donahue, Darrell, Efros, "Context Encoders: Feature Learning by
Inpainting", CVPR 2016 (arXiv:1604.07379), section 3.3: a central square region or
randomly placed blocks are dropped from the image and reconstructed from the rest.
"""

from __future__ import annotations

import keras
from keras import ops

from kssl.checks import check_choice, check_number
from kssl.errors import ArgumentError

REGIONS = ("center", "random")


def region_box(image_shape, region_size) -> tuple[int, int]:
    """The hidden box's (height, width) in pixels: ``round(region_size * side)`` per side, checked.

    ``region_size`` is a fraction of each side, in (0, 1) (0.5 hides a quarter of the
    image's area, as the paper's central region). A box smaller than one pixel, or one
    that leaves no context row or column around it, is an :class:`~kssl.errors.ArgumentError`
    naming ``region_size``.
    """
    size = check_number("region_size", region_size, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    height, width = int(image_shape[0]), int(image_shape[1])
    box = (int(round(size * height)), int(round(size * width)))
    if min(box) < 1:
        least = 0.5 / min(height, width)
        raise ArgumentError(
            "region_size",
            f"{region_size} of a {height}x{width} image is a {size * height:.2f}x{size * width:.2f}-pixel region, smaller than one pixel "
            f"once rounded; nothing would be hidden. Use a region_size above {least:.3g} (e.g. 0.5).",
        )
    if box[0] >= height or box[1] >= width:
        raise ArgumentError(
            "region_size",
            f"{region_size} of a {height}x{width} image rounds to a {box[0]}x{box[1]}-pixel region, which leaves no context to "
            f"reconstruct it from. Use a region_size whose box is at most {height - 1}x{width - 1} pixels "
            f"(below {(min(height, width) - 0.5) / min(height, width):.3g}), e.g. 0.5.",
        )
    return box


def region_mask(batch_size, image_shape, box, region: str = "center", seed=None):
    """A float32 mask (N, H, W, 1): 1 on each sample's hidden box of ``box`` = (h, w) pixels, 0 elsewhere.

    ``region="center"``: the same centred box for every sample (offset ``(H - h) // 2``,
    ``(W - w) // 2``). ``"random"``: each sample's box at its own uniformly drawn position
    inside the image (``seed``: an int, a ``keras.random.SeedGenerator`` or None).
    ``batch_size`` may be a symbolic batch size (``ops.shape(x)[0]``).
    """
    check_choice("region", region, REGIONS)
    height, width = int(image_shape[0]), int(image_shape[1])
    h, w = int(box[0]), int(box[1])
    if region == "center":
        top = ops.full((batch_size,), (height - h) // 2, dtype="int32")
        left = ops.full((batch_size,), (width - w) // 2, dtype="int32")
    else:
        u = keras.random.uniform((batch_size, 2), seed=seed, dtype="float32")
        top = ops.minimum(ops.cast(ops.floor(u[:, 0] * (height - h + 1)), "int32"), height - h)
        left = ops.minimum(ops.cast(ops.floor(u[:, 1] * (width - w + 1)), "int32"), width - w)
    rows = ops.reshape(ops.arange(height, dtype="int32"), (1, height, 1))
    cols = ops.reshape(ops.arange(width, dtype="int32"), (1, 1, width))
    top, left = ops.reshape(top, (-1, 1, 1)), ops.reshape(left, (-1, 1, 1))
    inside = ops.logical_and(ops.logical_and(rows >= top, rows < top + h), ops.logical_and(cols >= left, cols < left + w))
    return ops.expand_dims(ops.cast(inside, "float32"), -1)


def hide_region(x, mask, fill="mean"):
    """``x`` (N, H, W, C) with the pixels where ``mask`` (N, H, W, 1) is 1 replaced by a constant.

    ``fill="mean"``: each image's per-channel mean over its visible context (no hidden
    pixel leaks into the fill); a number: that constant (e.g. 0).
    """
    x = ops.cast(x, "float32")
    keep = 1.0 - mask
    if fill == "mean":
        value = ops.sum(x * keep, axis=(1, 2), keepdims=True) / ops.maximum(ops.sum(keep, axis=(1, 2), keepdims=True), 1.0)
    else:
        value = ops.convert_to_tensor(float(fill), dtype="float32")
    return x * keep + value * mask


def check_fill(fill):
    """``"mean"`` or a finite number (returned as float)."""
    if fill == "mean":
        return fill
    if isinstance(fill, str) or fill is None:
        raise ArgumentError("fill", f"expected 'mean' (each image's context mean) or a number such as 0, got {fill!r}.")
    return check_number("fill", fill)
