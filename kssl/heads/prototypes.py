"""A bank of L2-normalised prototype vectors scored by cosine similarity (SwAV's C)."""

from __future__ import annotations

import keras
from keras import ops

from kssl.checks import check_int
from kssl.losses.l2_normalize import l2_normalize


@keras.saving.register_keras_serializable(package="kssl")
class Prototypes(keras.layers.Layer):
    """Cosine similarities (N, K) between L2-normalised inputs (N, D) and K learnable prototypes.

    SwAV (Caron et al., NeurIPS 2020) re-normalises the prototype matrix after
    every update; here the normalisation is part of the forward pass, so the
    scores always lie in [-1, 1] on every backend without an extra callback.

    Args:
        n_prototypes: number of prototypes K.
    """

    def __init__(self, n_prototypes: int = 30, **kwargs):
        super().__init__(**kwargs)
        self.n_prototypes = check_int("n_prototypes", n_prototypes, low=1)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="prototypes",
            shape=(int(input_shape[-1]), self.n_prototypes),
            initializer=keras.initializers.RandomNormal(stddev=1.0),
            trainable=True,
        )

    def normalized_prototypes(self):
        """The (D, K) prototype matrix with unit-norm columns."""
        k = ops.cast(self.kernel, "float32")
        return l2_normalize(k, axis=0)

    def call(self, x):
        x = ops.cast(x, "float32")
        x = l2_normalize(x)
        return ops.matmul(x, self.normalized_prototypes())

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.n_prototypes)

    def get_config(self):
        config = super().get_config()
        config["n_prototypes"] = self.n_prototypes
        return config
