"""Shared input-shape check for the convolutional encoders (private)."""

from __future__ import annotations

from kssl.errors import ArgumentError


def check_image_input(encoder: str, input_shape, min_size: int) -> tuple:
    """Return ``input_shape`` as a tuple of ints after checking it is (H, W, C) with H, W >= ``min_size``."""
    try:
        shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        raise ArgumentError("input_shape", f"expected (height, width, channels) as integers, got {input_shape!r}.") from None
    if len(shape) != 3:
        raise ArgumentError(
            "input_shape",
            f"the {encoder} encoder needs images (height, width, channels), got data of shape {shape}. Use the mlp encoder for flat data.",
        )
    if min(shape[:2]) < min_size:
        raise ArgumentError(
            "input_shape",
            f"image_size too small for {encoder}: got {shape[0]}x{shape[1]}, need at least {min_size}x{min_size}; raise data.image_size.",
        )
    return shape
