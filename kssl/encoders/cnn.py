"""A small convolutional encoder."""

from __future__ import annotations

import keras

from kssl.checks import check_int
from kssl.encoders._shape import check_image_input
from kssl.errors import ArgumentError


def cnn(input_shape, filters=(32, 64, 128), kernel_size: int = 3, dense_units: int = 0) -> keras.Model:
    """Conv-BN-ReLU blocks, each downsampling by 2, then global average pooling.

    Returns a functional ``keras.Model`` of standard layers from (N, H, W, C) images
    to (N, D) features, D = ``dense_units`` or else ``filters[-1]``; a saved
    ``.keras`` file reloads without ``custom_objects``.

    Args:
        input_shape: (height, width, channels), at least 2**len(filters) pixels per side.
        filters: channels per block.
        kernel_size: convolution size.
        dense_units: width of a final Dense+ReLU layer (0: none).
    """
    if not isinstance(filters, (list, tuple)) or not filters:
        raise ArgumentError("filters", f"expected a non-empty list of channel counts such as [32, 64], got {filters!r}.")
    filters = [check_int("filters", f, low=1) for f in filters]
    kernel_size = check_int("kernel_size", kernel_size, low=1)
    dense_units = check_int("dense_units", dense_units, low=0)
    shape = check_image_input("cnn", input_shape, 2 ** len(filters))
    inputs = keras.Input(shape)
    x = inputs
    for i, f in enumerate(filters):
        x = keras.layers.Conv2D(f, kernel_size, strides=2, padding="same", use_bias=False, name=f"conv{i + 1}")(x)
        x = keras.layers.BatchNormalization(name=f"bn{i + 1}")(x)
        x = keras.layers.ReLU(name=f"relu{i + 1}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    if dense_units:
        x = keras.layers.Dense(dense_units, activation="relu", name="dense")(x)
    return keras.Model(inputs, x, name="cnn")
