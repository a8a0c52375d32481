"""The vit encoder: token layout, stages, positions, the frozen patch embedding, round trips, learning, bad input."""

import keras
import numpy as np
import pytest
from click.testing import CliRunner

from kssl.cli import main
from kssl.encoders.patch_embedding import patchify, unpatchify
from kssl.encoders.position_embedding import sincos_2d
from kssl.encoders.transformer_block import TransformerBlock
from kssl.encoders.vit import VisionTransformer, vit
from kssl.errors import ArgumentError
from kssl.testing import assert_round_trip, tiny_images

SMALL = {"width": 16, "depth": 1, "num_heads": 2}


def _np(value):
    return np.asarray(keras.ops.convert_to_numpy(value))


@pytest.mark.parametrize(
    "shape, patch, pooling, tokens",
    [((16, 16, 1), 4, "mean", 16), ((16, 16, 1), 2, "cls", 64), ((32, 32, 3), 8, "cls", 16), ((32, 32, 3), 4, "mean", 64), ((16, 32, 2), 8, "mean", 8)],
)
def test_shapes_and_token_layout(shape, patch, pooling, tokens):
    model = vit(input_shape=shape, patch_size=patch, pooling=pooling, **SMALL)
    assert isinstance(model, VisionTransformer) and isinstance(model, keras.Model)
    assert model.num_patches == tokens and model.patch_size == patch
    assert model.grid_size == (shape[0] // patch, shape[1] // patch)
    assert model.num_prefix_tokens == (pooling == "cls")
    x = np.random.default_rng(0).random((3, *shape), dtype=np.float32)
    assert model(x).shape == (3, 16)
    assert tuple(model.inputs[0].shape[1:]) == shape  # a functional model, like kssl's other encoders
    embedded = model.embed_patches(x)
    assert embedded.shape == (3, tokens, 16)
    encoded = model.encode_tokens(embedded[:, :5])  # any subset of the tokens
    assert encoded.shape == (3, 5 + model.num_prefix_tokens, 16)
    # call(images) is the three stages in a row
    np.testing.assert_allclose(_np(model.pool(model.encode_tokens(model.embed_patches(x)))), _np(model(x)), atol=1e-5)


def test_patchify_lists_patches_in_token_order_and_unpatchify_inverts_it():
    x = np.arange(2 * 8 * 8 * 3, dtype=np.float32).reshape(2, 8, 8, 3)
    patches = _np(patchify(x, 4))
    assert patches.shape == (2, 4, 48)
    np.testing.assert_array_equal(patches[1, 2], x[1, 4:8, 0:4].reshape(-1))  # row 1, column 0 of the 2x2 grid
    np.testing.assert_array_equal(_np(unpatchify(patches, 4, 2, 2, 3)), x)
    # the patch embedding's token i is a linear function of patchify's patch i only
    model = vit(input_shape=(8, 8, 3), patch_size=4, **SMALL)
    layer = model.patch_embedding
    kernel, bias = (_np(w) for w in layer.projection.weights)
    tokens = _np(layer.projection(x)).reshape(2, 4, 16)
    np.testing.assert_allclose(tokens, patches @ kernel.reshape(48, 16) + bias, rtol=1e-4, atol=1e-3)


def test_sincos_positions_are_fixed_and_learned_ones_train():
    fixed = vit(input_shape=(16, 16, 1), patch_size=4, position_embedding="sincos", **SMALL)
    table = fixed.patch_embedding.positions.positions
    assert not table.trainable
    np.testing.assert_allclose(_np(table), sincos_2d(4, 4, 16), atol=1e-6)
    reference = np.concatenate([f(np.outer(r, 1.0 / 10000 ** (np.arange(4) / 4.0))) for r in np.indices((4, 4)).reshape(2, -1) for f in (np.sin, np.cos)], 1)
    np.testing.assert_allclose(sincos_2d(4, 4, 16), reference, atol=1e-6)
    learned = vit(input_shape=(16, 16, 1), patch_size=4, **SMALL)
    assert learned.patch_embedding.positions.positions.trainable


def test_frozen_patch_embedding_does_not_train_and_copies_hold_the_same_projection():
    model = vit(input_shape=(16, 16, 1), patch_size=4, freeze_patch_embedding=True, **SMALL)
    projection = model.patch_embedding.projection
    assert not projection.trainable and all(not w.trainable for w in projection.weights)
    before = _np(projection.kernel).copy()
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    x = tiny_images(8)
    model.fit(x, np.ones((8, 16), "float32"), epochs=1, batch_size=8, verbose=0)
    np.testing.assert_array_equal(_np(projection.kernel), before)
    # a momentum encoder is made from the config: the same seed, the same random projection
    copy = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))
    np.testing.assert_array_equal(_np(copy.patch_embedding.projection.kernel), before)
    assert model.get_config()["patch_embedding_seed"] is not None


def test_round_trip_and_clone(tmp_path):
    model = vit(input_shape=(16, 16, 1), patch_size=4, pooling="cls", position_embedding="sincos", **SMALL)
    x = tiny_images(4)
    loaded = assert_round_trip(model, x=x, tmp_path=tmp_path)
    assert isinstance(loaded, VisionTransformer) and loaded.num_patches == 16
    copy = keras.models.clone_model(model)  # what fine-tuning evaluators do
    copy.set_weights(model.get_weights())
    np.testing.assert_allclose(_np(copy(x)), _np(model(x)), atol=1e-6)


def test_a_small_vit_learns_digits():
    """Supervised, as a check that the blocks learn: 8x8 digits, 2x2 patches, one block; accuracy on held-out digits far above chance."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]
    y = digits.target
    keras.utils.set_random_seed(0)
    encoder = vit(input_shape=(8, 8, 1), patch_size=2, width=32, depth=1, num_heads=4)
    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(encoder(inputs)))
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:1000], y[:1000], epochs=6, batch_size=64, verbose=0)
    accuracy = model.evaluate(x[1000:], y[1000:], verbose=0)[1]
    assert accuracy > 0.8, accuracy  # chance is 0.1


@pytest.mark.parametrize(
    "kwargs, argument, words",
    [
        ({"patch_size": 3}, "patch_size", "3 does not divide the 16x16 images"),
        ({"patch_size": 0}, "patch_size", ">= 1"),
        ({"width": 30, "num_heads": 4}, "num_heads", "more heads than the width allows"),
        ({"width": 0}, "width", ">= 1"),
        ({"depth": 0}, "depth", ">= 1"),
        ({"pooling": "clss"}, "pooling", "Did you mean 'cls'?"),
        ({"position_embedding": "sin"}, "position_embedding", "sincos"),
        ({"width": 18, "num_heads": 2, "position_embedding": "sincos"}, "width", "divisible by 4"),
        ({"mlp_ratio": 0}, "mlp_ratio", "> 0.0"),
        ({"freeze_patch_embedding": "yes"}, "freeze_patch_embedding", "true or false"),
    ],
)
def test_bad_arguments_name_the_key(kwargs, argument, words):
    with pytest.raises(ArgumentError) as info:
        vit(input_shape=(16, 16, 1), **{**SMALL, **kwargs})
    assert info.value.argument == argument
    assert words in str(info.value)


def test_transformer_block_suggests_a_divisor():
    with pytest.raises(ArgumentError, match=r"use a divisor of 64, e\.g\. 4"):
        TransformerBlock(64, 5, 128)


@pytest.mark.parametrize(
    "setting, words",
    [
        ("encoder.patch_size=5", ["encoder.patch_size", "5 does not divide the 16x16 images"]),
        ("encoder.num_heads=5", ["encoder.num_heads", "more heads than the width allows"]),
        ("encoder.depth=0", ["encoder.depth"]),
        ("encoder.pooling=avg", ["encoder.pooling", "'cls', 'mean'"]),
    ],
)
def test_cli_refuses_bad_vit_settings_with_exit_code_2(write_recipe, tmp_path, monkeypatch, setting, words):
    monkeypatch.chdir(tmp_path)
    recipe = {
        "name": "bad-vit",
        "data": {"type": "digits", "image_size": 16, "batch_size": 16, "limit": 32},
        "encoder": {"type": "vit", "patch_size": 4, "width": 16, "depth": 1, "num_heads": 2},
        "pretext": {"type": "mae"},
        "train": {"epochs": 1},
        "eval": [],
    }
    path = write_recipe(recipe)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = CliRunner().invoke(main, ["validate", str(path), "--set", setting])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before
