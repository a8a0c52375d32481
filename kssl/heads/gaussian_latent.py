"""The VAE's inference head: features -> mean and log-variance of a diagonal Gaussian posterior."""

from __future__ import annotations

import keras

from kssl.checks import check_int


@keras.saving.register_keras_serializable(package="kssl")
class GaussianLatent(keras.layers.Layer):
    """Two linear maps from encoder features to ``(mean, log_var)`` of ``q(z | x)``, each (N, latent_dim).

    The log-variance map starts at zero weights (``q`` starts as N(mean, I)), which
    keeps the first steps of training numerically tame.

    Args:
        latent_dim: dimension of the latent space.
    """

    def __init__(self, latent_dim: int = 16, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = check_int("latent_dim", latent_dim, low=1)
        self.mean_dense = keras.layers.Dense(self.latent_dim, name="mean")
        self.log_var_dense = keras.layers.Dense(self.latent_dim, kernel_initializer="zeros", name="log_var")

    def build(self, input_shape):
        self.mean_dense.build(input_shape)
        self.log_var_dense.build(input_shape)

    def call(self, features):
        return self.mean_dense(features), self.log_var_dense(features)

    def compute_output_shape(self, input_shape):
        shape = (*input_shape[:-1], self.latent_dim)
        return shape, shape

    def get_config(self):
        config = super().get_config()
        config.update(latent_dim=self.latent_dim)
        return config
