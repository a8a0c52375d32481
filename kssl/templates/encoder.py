"""``kssl new-plugin NAME --kind encoder``: an example encoder factory (mean-pooled patch embeddings)."""

from kssl.templates.common import Scaffold, recipe

COMPONENT = '''\
"""The $name encoder (an example: replace it with your encoder)."""

from __future__ import annotations

import keras
from kssl.checks import check_int
from kssl.errors import ArgumentError


def $name(input_shape, patch_size: int = 4, width: int = 64) -> keras.Model:
    """Embed non-overlapping patches linearly, apply ReLU, and average over the patches.

    The image is cut into ``patch_size`` x ``patch_size`` patches; each is flattened and
    mapped to ``width`` features by one shared linear layer (a strided convolution), then
    ReLU; the features of an image are the mean over its patches. Returns a functional
    ``keras.Model`` of stock layers from (N, H, W, C) images to (N, ``width``) features, so
    a saved ``.keras`` file reloads without ``custom_objects``.

    Args:
        input_shape: (height, width, channels), both sides divisible by ``patch_size``
            (kssl passes the dataset's shape).
        patch_size: side of the square patches, >= 1.
        width: number of features, >= 1.
    """
    patch_size = check_int("patch_size", patch_size, low=1)
    width = check_int("width", width, low=1)
    shape = tuple(int(d) for d in input_shape)
    if len(shape) != 3:
        raise ArgumentError("input_shape", f"expected images of shape (height, width, channels), got {shape}.")
    if shape[0] % patch_size or shape[1] % patch_size:
        raise ArgumentError("patch_size", f"{patch_size} does not divide the image size {shape[0]}x{shape[1]}; use a divisor.")
    inputs = keras.Input(shape)
    x = keras.layers.Conv2D(width, patch_size, strides=patch_size, activation="relu", name="patch_embedding")(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="mean_over_patches")(x)
    return keras.Model(inputs, x, name="$name")
'''

TESTS = '''\
"""The $name encoder: its contract, its features against numpy, and its argument checks."""

import keras
import numpy as np
import pytest
from kssl.errors import RecipeError
from kssl.testing import build_component, check_encoder, tiny_images

from $package.$name import $name


def test_component(tmp_path):
    check_encoder($name, {"patch_size": 4, "width": 8}, input_shape=(16, 16, 1), tmp_path=tmp_path)


def test_the_features_match_numpy():
    x = tiny_images(3, 8, 2, seed=0)
    model = build_component("encoder", $name, {"patch_size": 4, "width": 5}, context={"input_shape": (8, 8, 2)})
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in model.get_layer("patch_embedding").weights)
    expected = np.zeros((3, 5))
    for n in range(3):
        for i in range(0, 8, 4):
            for j in range(0, 8, 4):
                patch = x[n, i : i + 4, j : j + 4, :]
                expected[n] += np.maximum(np.einsum("hwc,hwcf->f", patch, kernel) + bias, 0.0) / 4
    got = keras.ops.convert_to_numpy(model(x, training=False))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_bad_argument_names_the_recipe_key():
    with pytest.raises(RecipeError, match="encoder.patch_size: 5 does not divide the image size 16x16"):
        build_component("encoder", $name, {"patch_size": 5}, context={"input_shape": (16, 16, 1)})
'''

RECIPE = recipe(
    "SimCLR on the scikit-learn digits with the $name encoder ($dist); offline, CPU minutes",
    encoder="{type: $name, patch_size: 4, width: 64}",
)

SCAFFOLD = Scaffold(
    kind="encoder",
    is_class=False,
    summary="mean-pooled patch embeddings, an example to replace with yours",
    usage="encoder: {type: $name, patch_size: 4, width: 64}",
    develop="a factory function; kssl calls it with the recipe's\n  arguments and, because its signature names it, the dataset's `input_shape`. Return a\n  `keras.Model` from samples to (N, D) features, built from layers that save and reload.",
    recipe=RECIPE,
    smoke_overrides=("data.limit=128", "data.image_size=16"),
    smoke_check='recipe["encoder"]["type"] == "$name"',
    component=COMPONENT,
    tests=TESTS,
)
