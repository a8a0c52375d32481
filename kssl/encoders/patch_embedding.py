"""Images to patch tokens: a strided convolution (one linear projection per patch) plus positions."""

from __future__ import annotations

import keras
from keras import ops

from kssl.checks import check_bool, check_int
from kssl.encoders.position_embedding import PositionEmbedding


def patchify(images, patch_size: int):
    """(B, H, W, C) images -> (B, N, patch_size**2 * C) pixel patches, row-major (the order of :class:`PatchEmbedding`'s tokens).

    Each patch is flattened (row, column, channel). H and W must divide by ``patch_size``.
    """
    _, h, w, c = ops.shape(images)
    p = int(patch_size)
    gh, gw = h // p, w // p
    x = ops.reshape(images, (-1, gh, p, gw, p, c))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
    return ops.reshape(x, (-1, gh * gw, p * p * c))


def unpatchify(patches, patch_size: int, grid_height: int, grid_width: int, channels: int):
    """The inverse of :func:`patchify`: (B, N, patch_size**2 * C) -> (B, H, W, C)."""
    p = int(patch_size)
    x = ops.reshape(patches, (-1, grid_height, grid_width, p, p, channels))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
    return ops.reshape(x, (-1, grid_height * p, grid_width * p, channels))


@keras.saving.register_keras_serializable(package="kssl")
class PatchEmbedding(keras.layers.Layer):
    """(B, H, W, C) images -> (B, N, width) tokens, N = (H / patch_size) * (W / patch_size), positions added.

    Each non-overlapping ``patch_size`` x ``patch_size`` patch is projected linearly to
    ``width`` (a ``Conv2D`` with stride ``patch_size``, ViT's "patch embedding"), the patches
    are listed row by row (as :func:`patchify` lists pixels) and a :class:`PositionEmbedding`
    is added. ``freeze_projection=True`` keeps the projection at its random initial weights
    (MoCo v3's stability trick, Chen, Xie & He, ICCV 2021, §4.2); the positions are unaffected.
    ``projection_seed`` fixes those random weights: a copy made from the config (a momentum
    encoder) then holds the same frozen projection.

    Args:
        patch_size: side of a square patch in pixels.
        width: token width.
        grid_height: patch rows (H / patch_size).
        grid_width: patch columns (W / patch_size).
        position_embedding: ``learned`` or ``sincos``.
        freeze_projection: do not train the patch projection.
        projection_seed: seed of the projection's initial weights (None: drawn from Keras' global seed).
    """

    def __init__(
        self,
        patch_size: int,
        width: int,
        grid_height: int,
        grid_width: int,
        position_embedding: str = "learned",
        freeze_projection: bool = False,
        projection_seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.patch_size = check_int("patch_size", patch_size, low=1)
        self.width = check_int("width", width, low=1)
        self.grid_height = check_int("grid_height", grid_height, low=1)
        self.grid_width = check_int("grid_width", grid_width, low=1)
        self.position_embedding = position_embedding
        self.freeze_projection = check_bool("freeze_patch_embedding", freeze_projection)
        self.projection_seed = None if projection_seed is None else check_int("projection_seed", projection_seed, low=0)
        initializer = keras.initializers.GlorotUniform(seed=self.projection_seed)
        self.projection = keras.layers.Conv2D(
            self.width, self.patch_size, strides=self.patch_size, padding="valid", kernel_initializer=initializer, name="projection"
        )
        self.projection.trainable = not self.freeze_projection
        self.positions = PositionEmbedding(self.grid_height, self.grid_width, position_embedding, name="positions")

    @property
    def num_patches(self) -> int:
        return self.grid_height * self.grid_width

    def build(self, input_shape):
        self.projection.build(input_shape)
        self.positions.build((None, self.num_patches, self.width))

    def call(self, images):
        x = self.projection(images)
        x = ops.reshape(x, (-1, self.num_patches, self.width))
        return self.positions(x)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_patches, self.width)

    def get_config(self):
        return {
            **super().get_config(),
            "patch_size": self.patch_size,
            "width": self.width,
            "grid_height": self.grid_height,
            "grid_width": self.grid_width,
            "position_embedding": self.position_embedding,
            "freeze_projection": self.freeze_projection,
            "projection_seed": self.projection_seed,
        }
