"""CIFAR-style ResNet encoder (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016)."""

from __future__ import annotations

import keras

from kssl.checks import check_choice, check_int
from kssl.encoders._shape import check_image_input

BLOCKS = {10: (1, 1, 1, 1), 18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}


def _basic_block(x, filters: int, stride: int, name: str):
    shortcut = x
    y = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv1")(x)
    y = keras.layers.BatchNormalization(name=f"{name}_bn1")(y)
    y = keras.layers.ReLU(name=f"{name}_relu1")(y)
    y = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2")(y)
    y = keras.layers.BatchNormalization(name=f"{name}_bn2")(y)
    if stride != 1 or shortcut.shape[-1] != filters:
        shortcut = keras.layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_proj")(shortcut)
        shortcut = keras.layers.BatchNormalization(name=f"{name}_proj_bn")(shortcut)
    y = keras.layers.Add(name=f"{name}_add")([y, shortcut])
    return keras.layers.ReLU(name=f"{name}_out")(y)


def resnet(input_shape, depth: int = 18, width: int = 64) -> keras.Model:
    """A ResNet for small images: 3x3 stem, no max-pool, 4 stages of basic blocks, global pooling.

    Args:
        input_shape: (height, width, channels); at least 8x8 (three stride-2 stages).
        depth: 10, 18 or 34 (blocks per stage 1-1-1-1, 2-2-2-2, 3-4-6-3).
        width: channels of the first stage; stages use width, 2w, 4w, 8w. Features are 8*width wide.

    Returns a functional ``keras.Model`` of standard layers (reloads from ``.keras``
    without ``custom_objects``) from (N, H, W, C) images to (N, 8*width) features.
    """
    check_choice("depth", depth, tuple(BLOCKS))
    width = check_int("width", width, low=1)
    shape = check_image_input("resnet", input_shape, 8)
    inputs = keras.Input(shape)
    x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = keras.layers.BatchNormalization(name="stem_bn")(x)
    x = keras.layers.ReLU(name="stem_relu")(x)
    for stage, blocks in enumerate(BLOCKS[depth]):
        for block in range(blocks):
            stride = 2 if stage > 0 and block == 0 else 1
            x = _basic_block(x, width * 2**stage, stride, name=f"stage{stage + 1}_block{block + 1}")
    outputs = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, outputs, name=f"resnet{depth}")
