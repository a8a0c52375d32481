"""The built-in encoders: shapes, input-size checks, argument errors, .keras round trips."""

import keras
import numpy as np
import pytest

from kssl.encoders.cnn import cnn
from kssl.encoders.mlp import mlp
from kssl.encoders.resnet import resnet
from kssl.errors import ArgumentError


def _images(n=2, size=8, channels=1, seed=0):
    return np.random.default_rng(seed).random((n, size, size, channels), dtype=np.float32)


def _count(model, cls):
    return sum(isinstance(layer, cls) for layer in model.layers)


@pytest.mark.parametrize("depth, blocks", [(10, 4), (18, 8), (34, 16)])
def test_resnet_shapes_and_block_counts(depth, blocks):
    model = resnet(input_shape=(8, 8, 3), depth=depth, width=2)
    assert isinstance(model, keras.Model)
    assert model(_images(channels=3)).shape == (2, 16)  # 8 * width features
    assert _count(model, keras.layers.Add) == blocks
    assert _count(model, keras.layers.MaxPooling2D) == 0
    # 3x3 stem at full resolution, three stride-2 stages: 8 -> 1
    assert model.get_layer("stem_conv").kernel_size == (3, 3)
    assert model.get_layer("stem_conv").strides == (1, 1)
    assert model.get_layer("stage4_block1_conv1").output.shape[1:3] == (1, 1)


def test_cnn_shapes():
    model = cnn(input_shape=(8, 8, 1), filters=[4, 8], dense_units=0)
    assert model(_images()).shape == (2, 8)
    assert model.get_layer("conv2").output.shape[1:3] == (2, 2)
    with_dense = cnn(input_shape=(8, 8, 1), filters=[4, 8, 16], dense_units=5)
    assert with_dense(_images()).shape == (2, 5)


def test_mlp_flattens_any_input():
    assert mlp(input_shape=(10,), hidden_units=[6, 3])(np.ones((4, 10), "float32")).shape == (4, 3)
    assert mlp(input_shape=(4, 4, 2), hidden_units=[5])(np.ones((3, 4, 4, 2), "float32")).shape == (3, 5)
    dropped = mlp(input_shape=(10,), hidden_units=[64], dropout=0.5)
    x = np.ones((2, 10), "float32")
    np.testing.assert_allclose(dropped(x, training=False), dropped(x, training=False))


def test_resnet_too_small_input_says_how_to_fix():
    with pytest.raises(ArgumentError) as info:
        resnet(input_shape=(4, 4, 1), depth=10, width=2)
    assert info.value.argument == "input_shape"
    message = str(info.value)
    assert "image_size too small for resnet: got 4x4, need at least 8x8" in message
    assert "data.image_size" in message


def test_cnn_too_small_input_depends_on_block_count():
    cnn(input_shape=(8, 8, 1), filters=[4, 4, 4])
    with pytest.raises(ArgumentError, match=r"got 8x8, need at least 16x16"):
        cnn(input_shape=(8, 8, 1), filters=[4, 4, 4, 4])


@pytest.mark.parametrize(
    "factory, kwargs, argument",
    [
        (resnet, {"input_shape": (8, 8, 1), "depth": 19}, "depth"),
        (resnet, {"input_shape": (8, 8, 1), "width": 0}, "width"),
        (resnet, {"input_shape": (8, 8, 1), "width": "wide"}, "width"),
        (resnet, {"input_shape": (64,)}, "input_shape"),
        (cnn, {"input_shape": (8, 8, 1), "filters": []}, "filters"),
        (cnn, {"input_shape": (8, 8, 1), "filters": [8, -1]}, "filters"),
        (cnn, {"input_shape": (8, 8, 1), "kernel_size": 0}, "kernel_size"),
        (cnn, {"input_shape": (8, 8, 1), "dense_units": -1}, "dense_units"),
        (mlp, {"input_shape": (8,), "hidden_units": 256}, "hidden_units"),
        (mlp, {"input_shape": (8,), "dropout": 1.0}, "dropout"),
        (mlp, {"input_shape": (8,), "activation": "nope"}, "activation"),
    ],
)
def test_bad_arguments_name_the_argument(factory, kwargs, argument):
    with pytest.raises(ArgumentError) as info:
        factory(**kwargs)
    assert info.value.argument == argument
    assert str(info.value).startswith(f"{argument}: ")


def test_bad_argument_echoes_the_value():
    with pytest.raises(ArgumentError, match=r"depth: expected one of 10, 18, 34, got 19"):
        resnet(input_shape=(8, 8, 1), depth=19)


@pytest.mark.parametrize(
    "build, x",
    [
        (lambda: resnet(input_shape=(8, 8, 1), depth=10, width=2), _images()),
        (lambda: cnn(input_shape=(8, 8, 3), filters=[4, 8], dense_units=6), _images(channels=3)),
        (lambda: mlp(input_shape=(4, 4, 1), hidden_units=[8, 4], dropout=0.1), _images(size=4)),
    ],
)
def test_keras_round_trip_without_custom_objects(tmp_path, build, x):
    model = build()
    for layer in model.layers:  # non-default BatchNormalization statistics must survive the trip too
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(np.full(layer.moving_mean.shape, 0.3, "float32"))
    # only standard Keras layers: the file reloads even where kssl is not installed
    assert all(type(layer).__module__.startswith("keras.") for layer in model.layers)
    path = tmp_path / "encoder.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.output_shape == model.output_shape
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_encoders_are_registered_through_the_hook():
    from kssl.plugins import get_plugin_manager

    _, registry = get_plugin_manager()
    assert registry.entry("encoder", "resnet").factory is resnet
    assert registry.entry("encoder", "cnn").factory is cnn
    assert registry.entry("encoder", "mlp").factory is mlp
