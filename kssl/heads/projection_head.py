"""MLP projection head used by contrastive pretext tasks."""

from __future__ import annotations

import keras

from kssl.checks import check_bool, check_int


@keras.saving.register_keras_serializable(package="kssl")
class ProjectionHead(keras.layers.Layer):
    """Dense → (BatchNorm) → ReLU blocks, then a linear output layer (SimCLR's g(·)).

    Args:
        hidden_dims: widths of the hidden layers (``[]`` gives a linear head).
        output_dim: width of the projection.
        batch_norm: batch-normalise hidden layers.
    """

    def __init__(self, hidden_dims=(256,), output_dim: int = 64, batch_norm: bool = True, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(hidden_dims, (list, tuple)):
            from kssl.errors import ArgumentError

            raise ArgumentError("projection_hidden_dims", f"expected a list of integers, got {hidden_dims!r}.")
        self.hidden_dims = [check_int("projection_hidden_dims", d, low=1) for d in hidden_dims]
        self.output_dim = check_int("projection_dim", output_dim, low=1)
        self.batch_norm = check_bool("batch_norm", batch_norm)
        self.blocks = []
        for width in self.hidden_dims:
            self.blocks.append(keras.layers.Dense(width, use_bias=not self.batch_norm))
            if self.batch_norm:
                self.blocks.append(keras.layers.BatchNormalization())
            self.blocks.append(keras.layers.ReLU())
        self.out = keras.layers.Dense(self.output_dim)

    def build(self, input_shape):
        shape = input_shape
        for layer in self.blocks:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.out.build(shape)

    def call(self, x, training=None):
        for layer in self.blocks:
            x = layer(x, training=training)
        return self.out(x)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.output_dim)

    def get_config(self):
        config = super().get_config()
        config.update(hidden_dims=list(self.hidden_dims), output_dim=self.output_dim, batch_norm=self.batch_norm)
        return config
