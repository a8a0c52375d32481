"""Positional embeddings of a grid of patch tokens: learned, or fixed 2-D sine-cosine."""

from __future__ import annotations

import keras
import numpy as np

from kssl.checks import check_choice, check_int
from kssl.errors import ArgumentError

KINDS = ("learned", "sincos")


def sincos_2d(grid_height: int, grid_width: int, width: int) -> np.ndarray:
    """The fixed 2-D sine-cosine table (grid_height * grid_width, width), rows in row-major patch order.

    Half of the channels encode the row, half the column, each with sines and cosines
    of ``10000 ** (-k / (width / 4))`` frequencies (MAE's ``get_2d_sincos_pos_embed``,
    He et al. 2021; Vaswani et al. 2017 in one dimension). ``width`` must divide by 4.
    """
    if width % 4:
        raise ArgumentError("width", f"fixed sin-cos positions need a width divisible by 4, got {width}; use position_embedding: learned or change width.")
    omega = 1.0 / 10000 ** (np.arange(width // 4, dtype=np.float64) / (width / 4.0))
    rows, cols = np.meshgrid(np.arange(grid_height, dtype=np.float64), np.arange(grid_width, dtype=np.float64), indexing="ij")
    parts = []
    for axis in (rows.reshape(-1), cols.reshape(-1)):
        angles = axis[:, None] * omega[None, :]
        parts += [np.sin(angles), np.cos(angles)]
    return np.concatenate(parts, axis=1).astype(np.float32)


@keras.saving.register_keras_serializable(package="kssl")
class PositionEmbedding(keras.layers.Layer):
    """Adds one embedding per patch position to tokens (B, N, width), N = grid_height * grid_width.

    ``kind="learned"``: a trainable table, initialised with a truncated normal of std 0.02
    (ViT, Dosovitskiy et al. 2021); ``"sincos"``: the fixed table of :func:`sincos_2d`
    (MAE and MoCo v3 use it), a non-trainable weight.

    Args:
        grid_height: patch rows.
        grid_width: patch columns.
        kind: ``learned`` or ``sincos``.
    """

    def __init__(self, grid_height: int, grid_width: int, kind: str = "learned", **kwargs):
        super().__init__(**kwargs)
        self.grid_height = check_int("grid_height", grid_height, low=1)
        self.grid_width = check_int("grid_width", grid_width, low=1)
        self.kind = check_choice("position_embedding", kind, KINDS)

    def build(self, input_shape):
        width = int(input_shape[-1])
        n = self.grid_height * self.grid_width
        if input_shape[-2] is not None and int(input_shape[-2]) != n:
            raise ValueError(f"PositionEmbedding: expected {n} tokens ({self.grid_height}x{self.grid_width} patches), got shape {tuple(input_shape)}.")
        if self.kind == "learned":
            initializer = keras.initializers.TruncatedNormal(stddev=0.02)
        else:
            initializer = keras.initializers.Constant(sincos_2d(self.grid_height, self.grid_width, width))
        self.positions = self.add_weight(shape=(n, width), initializer=initializer, trainable=self.kind == "learned", name="positions")

    def call(self, tokens):
        return tokens + keras.ops.cast(self.positions, tokens.dtype)[None]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "grid_height": self.grid_height, "grid_width": self.grid_width, "kind": self.kind}
