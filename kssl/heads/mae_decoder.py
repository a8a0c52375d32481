"""MAE's lightweight decoder: visible encodings plus mask tokens -> pixels of every patch."""

from __future__ import annotations

import keras
from keras import ops

from kssl.checks import check_choice, check_int, check_number
from kssl.encoders.position_embedding import KINDS as POSITION_EMBEDDINGS
from kssl.encoders.position_embedding import PositionEmbedding
from kssl.encoders.transformer_encoder import TransformerEncoder
from kssl.errors import ArgumentError
from kssl.pretext.patch_masking import gather_indices


@keras.saving.register_keras_serializable(package="kssl")
class MAEDecoder(keras.layers.Layer):
    """The decoder of He et al., "Masked Autoencoders Are Scalable Vision Learners" (CVPR 2022), §3.

    ``call(encoded, ids_restore)``: the encoder's output for the visible patches (B,
    prefix + n_visible, encoder width), in the masking's ranking order, with
    ``num_prefix_tokens`` leading tokens (the class token); ``ids_restore`` (B, N) from
    :func:`kssl.pretext.patch_masking.mask_from_noise`. The tokens are projected to
    ``width``, one shared learned mask token fills each masked place, the sequence is put
    back in patch order, the decoder's own position embedding is added, and ``depth``
    transformer blocks plus a layer norm run over all N patches (and the prefix). A linear
    layer predicts each patch's ``patch_dim`` pixels: returns (B, N, patch_dim).

    Args:
        grid_height: patch rows.
        grid_width: patch columns.
        patch_dim: pixels per patch (patch_size**2 * channels).
        width: the decoder's token width.
        depth: transformer blocks (MAE: 8 at width 512 for ViT-L; a few suffice for small images).
        num_heads: attention heads; must divide ``width``.
        mlp_ratio: hidden units of each block's MLP per token channel.
        num_prefix_tokens: leading tokens of ``encoded`` that are not patches (1 for a class token).
        position_embedding: ``learned`` or ``sincos``.
    """

    def __init__(
        self,
        grid_height: int,
        grid_width: int,
        patch_dim: int,
        width: int = 64,
        depth: int = 2,
        num_heads: int = 4,
        mlp_ratio: float = 2.0,
        num_prefix_tokens: int = 0,
        position_embedding: str = "learned",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.grid_height = check_int("grid_height", grid_height, low=1)
        self.grid_width = check_int("grid_width", grid_width, low=1)
        self.patch_dim = check_int("patch_dim", patch_dim, low=1)
        self.width = check_int("decoder_width", width, low=1)
        self.depth = check_int("decoder_depth", depth, low=1)
        self.num_heads = check_int("decoder_num_heads", num_heads, low=1)
        self.mlp_ratio = check_number("decoder_mlp_ratio", mlp_ratio, low=0.0, low_inclusive=False)
        self.num_prefix_tokens = check_int("num_prefix_tokens", num_prefix_tokens, low=0)
        self.position_embedding = check_choice("position_embedding", position_embedding, POSITION_EMBEDDINGS)
        if self.width % self.num_heads:
            raise ArgumentError(
                "decoder_num_heads",
                f"more heads than the width allows: {self.num_heads} heads do not divide decoder_width {self.width} evenly; use a divisor of {self.width}.",
            )
        if self.position_embedding == "sincos" and self.width % 4:
            raise ArgumentError("decoder_width", f"sin-cos positions need a decoder_width divisible by 4, got {self.width}.")
        self.embed = keras.layers.Dense(self.width, name="decoder_embed")
        self.positions = PositionEmbedding(self.grid_height, self.grid_width, self.position_embedding, name="decoder_positions")
        mlp_width = max(1, round(self.width * self.mlp_ratio))
        self.blocks = TransformerEncoder(self.width, self.depth, self.num_heads, mlp_width, class_token=False, name="decoder_blocks")
        self.predict_pixels = keras.layers.Dense(self.patch_dim, name="decoder_pred")

    @property
    def num_patches(self) -> int:
        return self.grid_height * self.grid_width

    def build(self, encoded_shape, ids_restore_shape=None):
        self.embed.build(encoded_shape)
        self.mask_token = self.add_weight(shape=(1, 1, self.width), initializer=keras.initializers.RandomNormal(stddev=0.02), name="mask_token")
        self.positions.build((None, self.num_patches, self.width))
        self.blocks.build((None, None, self.width))
        self.predict_pixels.build((None, None, self.width))

    def call(self, encoded, ids_restore, training=None):
        x = self.embed(encoded)
        k = self.num_prefix_tokens
        prefix, visible = x[:, :k], x[:, k:]
        batch, hidden = ops.shape(x)[0], self.num_patches - int(visible.shape[1])
        mask_tokens = ops.broadcast_to(ops.cast(self.mask_token, x.dtype), (batch, hidden, self.width))
        x = ops.concatenate([visible, mask_tokens], axis=1)
        x = self.positions(ops.take_along_axis(x, gather_indices(ids_restore, self.width), axis=1))
        x = self.blocks(ops.concatenate([prefix, x], axis=1), training=training)
        return self.predict_pixels(x[:, k:])

    def compute_output_shape(self, encoded_shape, ids_restore_shape=None):
        return (encoded_shape[0], self.num_patches, self.patch_dim)

    def get_config(self):
        return {
            **super().get_config(),
            "grid_height": self.grid_height,
            "grid_width": self.grid_width,
            "patch_dim": self.patch_dim,
            "width": self.width,
            "depth": self.depth,
            "num_heads": self.num_heads,
            "mlp_ratio": self.mlp_ratio,
            "num_prefix_tokens": self.num_prefix_tokens,
            "position_embedding": self.position_embedding,
        }
