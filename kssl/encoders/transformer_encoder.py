"""A stack of pre-norm transformer blocks with a final layer norm and an optional class token."""

from __future__ import annotations

import keras
from keras import ops

from kssl.checks import check_bool, check_int, check_number
from kssl.encoders.transformer_block import TransformerBlock


@keras.saving.register_keras_serializable(package="kssl")
class TransformerEncoder(keras.layers.Layer):
    """Tokens (B, n, width) -> (B, n [+ 1], width): [class token,] ``depth`` :class:`TransformerBlock` s, LayerNorm.

    With ``class_token=True`` a learned token (initialised with a normal of std 0.02, no
    position, as in MAE) is prepended before the blocks, so the output has ``n + 1`` tokens,
    the class token first. Any number of tokens ``n`` is accepted: MAE's encoder runs on
    the visible patches only, its decoder on all of them.

    Args:
        width: token width.
        depth: number of blocks (0: only the final norm).
        num_heads: attention heads of each block; must divide ``width``.
        mlp_width: hidden units of each block's MLP.
        class_token: prepend a learned class token.
        dropout: dropout rate inside the blocks.
    """

    def __init__(self, width: int, depth: int, num_heads: int, mlp_width: int, class_token: bool = False, dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.width = check_int("width", width, low=1)
        self.depth = check_int("depth", depth, low=0)
        self.num_heads = check_int("num_heads", num_heads, low=1)
        self.mlp_width = check_int("mlp_width", mlp_width, low=1)
        self.class_token = check_bool("class_token", class_token)
        self.dropout = check_number("dropout", dropout, low=0.0, high=1.0, high_inclusive=False)
        self.blocks = [TransformerBlock(self.width, self.num_heads, self.mlp_width, self.dropout, name=f"block{i + 1}") for i in range(self.depth)]
        if not self.blocks:  # still check the heads against the width
            TransformerBlock(self.width, self.num_heads, self.mlp_width, self.dropout)
        self.norm = keras.layers.LayerNormalization(epsilon=1e-6, name="norm")

    def build(self, input_shape):
        if self.class_token:
            self.cls = self.add_weight(shape=(1, 1, self.width), initializer=keras.initializers.RandomNormal(stddev=0.02), name="class_token")
        shape = (input_shape[0], None, self.width)
        for block in self.blocks:
            block.build(shape)
        self.norm.build(shape)

    def call(self, tokens, training=None):
        x = tokens
        if self.class_token:
            cls = ops.broadcast_to(ops.cast(self.cls, x.dtype), (ops.shape(x)[0], 1, self.width))
            x = ops.concatenate([cls, x], axis=1)
        for block in self.blocks:
            x = block(x, training=training)
        return self.norm(x)

    def compute_output_shape(self, input_shape):
        n = input_shape[1]
        return (input_shape[0], None if n is None else n + int(self.class_token), self.width)

    def get_config(self):
        return {
            **super().get_config(),
            "width": self.width,
            "depth": self.depth,
            "num_heads": self.num_heads,
            "mlp_width": self.mlp_width,
            "class_token": self.class_token,
            "dropout": self.dropout,
        }
