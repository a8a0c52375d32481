"""The pre-norm transformer block of ViT (Dosovitskiy et al., ICLR 2021), from standard Keras layers."""

from __future__ import annotations

import keras

from kssl.checks import check_int, check_number
from kssl.errors import ArgumentError


@keras.saving.register_keras_serializable(package="kssl")
class TransformerBlock(keras.layers.Layer):
    """``x + MHA(LN(x))``, then ``x + MLP(LN(x))`` with a GELU MLP (ViT's encoder block, eq. 2-3).

    Tokens (B, N, width) in, (B, N, width) out. Attention is ``keras.layers.MultiHeadAttention``
    with ``num_heads`` heads of ``width / num_heads`` channels; the MLP has one hidden layer of
    ``mlp_width`` units. Layer norms use epsilon 1e-6 (as ViT and MAE).

    Args:
        width: token width.
        num_heads: attention heads; must divide ``width``.
        mlp_width: hidden units of the MLP.
        dropout: dropout rate of the attention weights and after each sub-block's output.
    """

    def __init__(self, width: int, num_heads: int, mlp_width: int, dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.width = check_int("width", width, low=1)
        self.num_heads = check_int("num_heads", num_heads, low=1)
        self.mlp_width = check_int("mlp_width", mlp_width, low=1)
        self.dropout = check_number("dropout", dropout, low=0.0, high=1.0, high_inclusive=False)
        if self.width % self.num_heads:
            raise ArgumentError(
                "num_heads",
                f"more heads than the width allows: {self.num_heads} heads do not divide width {self.width} evenly "
                f"(each head gets width / num_heads channels); use a divisor of {self.width}, e.g. {_divisor_near(self.width, self.num_heads)}.",
            )
        self.attention_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="attention_norm")
        self.attention = keras.layers.MultiHeadAttention(self.num_heads, self.width // self.num_heads, dropout=self.dropout, name="attention")
        self.mlp_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="mlp_norm")
        self.mlp_hidden = keras.layers.Dense(self.mlp_width, activation="gelu", name="mlp_hidden")
        self.mlp_out = keras.layers.Dense(self.width, name="mlp_out")
        self.drop = keras.layers.Dropout(self.dropout, name="dropout")

    def build(self, input_shape):
        self.attention_norm.build(input_shape)
        self.attention.build(input_shape, input_shape)
        self.mlp_norm.build(input_shape)
        self.mlp_hidden.build(input_shape)
        self.mlp_out.build((*input_shape[:-1], self.mlp_width))

    def call(self, x, training=None):
        y = self.attention_norm(x)
        x = x + self.drop(self.attention(y, y, training=training), training=training)
        y = self.mlp_out(self.mlp_hidden(self.mlp_norm(x)))
        return x + self.drop(y, training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "width": self.width, "num_heads": self.num_heads, "mlp_width": self.mlp_width, "dropout": self.dropout}


def _divisor_near(width: int, heads: int) -> int:
    """The divisor of ``width`` closest to ``heads`` (at most ``width``)."""
    return min((d for d in range(1, width + 1) if width % d == 0), key=lambda d: (abs(d - heads), d))
