"""The VAE's generative network: latent codes -> likelihood parameters shaped like the data."""

from __future__ import annotations

import math

import keras

from kssl.checks import check_choice, check_int
from kssl.errors import ArgumentError

DECODER_TYPES = ("auto", "conv", "dense")
MAX_UPSAMPLINGS = 3
MIN_START_SIDE = 4


def upsampling_stages(height: int, width: int) -> int:
    """How many stride-2 upsamplings the conv decoder uses for an image of this size.

    The largest ``k <= 3`` for which both sides are divisible by ``2**k`` and the
    starting map is at least 4x4 (32x32 -> 3 from 4x4, 28x28 -> 2 from 7x7, 8x8 -> 1).
    """
    for k in range(MAX_UPSAMPLINGS, 0, -1):
        f = 2**k
        if height % f == 0 and width % f == 0 and min(height, width) // f >= MIN_START_SIDE:
            return k
    return 0


@keras.saving.register_keras_serializable(package="kssl")
class VAEDecoder(keras.layers.Layer):
    """Maps (N, latent_dim) codes to (N, *target_shape) outputs (logits or means), mirroring the input.

    ``conv`` (images, ``target_shape`` = (H, W, C)): a Dense+ReLU layer to a small
    map, stride-2 ``Conv2DTranspose``+ReLU upsamplings (``width * 2**(k-1)``
    channels, halving per stage down to ``width``), then a linear 3x3
    ``Conv2D`` to C channels. ``dense`` (any shape): two Dense+ReLU layers of
    ``width`` units, a linear Dense to prod(target_shape), reshaped. ``auto``
    picks ``conv`` for (H, W, C) targets and ``dense`` otherwise. The output is
    linear: the VAE reads it as Bernoulli logits or Gaussian means.

    Args:
        target_shape: shape of one data sample, e.g. (32, 32, 1) or (64,).
        width: conv channels at full resolution, or dense hidden units.
        decoder_type: ``auto``, ``conv`` or ``dense``.
    """

    def __init__(self, target_shape=(32, 32, 1), width: int = 32, decoder_type: str = "auto", **kwargs):
        super().__init__(**kwargs)
        try:
            self.target_shape = [int(d) for d in target_shape]
        except (TypeError, ValueError):
            raise ArgumentError("input_shape", f"expected the shape of one sample such as [32, 32, 1], got {target_shape!r}.") from None
        if not self.target_shape or min(self.target_shape) < 1:
            raise ArgumentError("input_shape", f"expected a non-empty shape of positive sizes, got {target_shape!r}.")
        self.width = check_int("decoder_width", width, low=1)
        self.decoder_type = check_choice("decoder_type", decoder_type, DECODER_TYPES)
        kind = self.decoder_type
        if kind == "auto":
            kind = "conv" if len(self.target_shape) == 3 else "dense"
        if kind == "conv" and len(self.target_shape) != 3:
            raise ArgumentError(
                "decoder_type",
                f"a conv decoder needs image data of shape (height, width, channels), got input shape {tuple(self.target_shape)}. "
                "Use decoder_type: dense (or auto).",
            )
        self.kind = kind
        self.blocks = []
        if kind == "conv":
            h, w, c = self.target_shape
            k = upsampling_stages(h, w)
            self.start = (h // 2**k, w // 2**k, self.width * 2**k)
            self.blocks.append(keras.layers.Dense(math.prod(self.start), activation="relu", name="project"))
            self.blocks.append(keras.layers.Reshape(self.start, name="to_map"))
            for i in range(k):
                self.blocks.append(
                    keras.layers.Conv2DTranspose(self.width * 2 ** (k - 1 - i), 4, strides=2, padding="same", activation="relu", name=f"up{i + 1}")
                )
            self.blocks.append(keras.layers.Conv2D(c, 3, padding="same", name="out"))
        else:
            self.blocks.append(keras.layers.Dense(self.width, activation="relu", name="hidden1"))
            self.blocks.append(keras.layers.Dense(self.width, activation="relu", name="hidden2"))
            self.blocks.append(keras.layers.Dense(math.prod(self.target_shape), name="out"))
            self.blocks.append(keras.layers.Reshape(tuple(self.target_shape), name="to_shape"))

    def build(self, input_shape):
        shape = input_shape
        for layer in self.blocks:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)

    def call(self, z):
        for layer in self.blocks:
            z = layer(z)
        return z

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.target_shape)

    def get_config(self):
        config = super().get_config()
        config.update(target_shape=list(self.target_shape), width=self.width, decoder_type=self.decoder_type)
        return config
