"""The MLP head: projection heads, predictors and small classifiers of every pretext task."""

from __future__ import annotations

import keras

from kssl.checks import check_bool, check_int, check_widths


@keras.saving.register_keras_serializable(package="kssl")
class MLPHead(keras.layers.Layer):
    """Dense → (BatchNorm) → ReLU blocks, then a linear output layer (SimCLR's g(·), BYOL's predictor).

    Args:
        hidden_dims: widths of the hidden layers (``[]`` gives a linear head).
        output_dim: width of the output.
        batch_norm: batch-normalise the hidden layers (their Dense layers then have no bias).
        output_batch_norm: batch-normalise the output too, without a learned scale and
            offset (SimSiam's and Barlow Twins' projectors end this way).
    """

    def __init__(self, hidden_dims=(256,), output_dim: int = 64, batch_norm: bool = True, output_batch_norm: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.hidden_dims = check_widths("hidden_dims", hidden_dims)
        self.output_dim = check_int("output_dim", output_dim, low=1)
        self.batch_norm = check_bool("batch_norm", batch_norm)
        self.output_batch_norm = check_bool("output_batch_norm", output_batch_norm)
        self.blocks = []
        for width in self.hidden_dims:
            self.blocks.append(keras.layers.Dense(width, use_bias=not self.batch_norm))
            if self.batch_norm:
                self.blocks.append(keras.layers.BatchNormalization())
            self.blocks.append(keras.layers.ReLU())
        self.out = keras.layers.Dense(self.output_dim)
        self.out_norm = keras.layers.BatchNormalization(center=False, scale=False) if self.output_batch_norm else None

    def build(self, input_shape):
        shape = input_shape
        for layer in self.blocks:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.out.build(shape)
        if self.out_norm is not None:
            self.out_norm.build(self.out.compute_output_shape(shape))

    def call(self, x, training=None):
        for layer in self.blocks:
            x = layer(x, training=training)
        x = self.out(x)
        return self.out_norm(x, training=training) if self.out_norm is not None else x

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.output_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_dims=list(self.hidden_dims),
            output_dim=self.output_dim,
            batch_norm=self.batch_norm,
            output_batch_norm=self.output_batch_norm,
        )
        return config
