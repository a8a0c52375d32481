"""The simclr augmenter and its layers: shapes, closed-form checks, errors, round trips, jit."""

import textwrap

import keras
import numpy as np
import pytest
from jax_subprocess import augmenter_fit_script, run_on_jax

from kssl.augment.color_distortion import ColorDistortion
from kssl.augment.random_gaussian_blur import RandomGaussianBlur
from kssl.augment.random_resized_crop import RandomResizedCrop
from kssl.augment.simclr_augment import SimCLRAugment
from kssl.errors import ArgumentError

OFF = dict(flip_probability=0.0, jitter_probability=0.0, grayscale_probability=0.0, blur_probability=0.0, solarize_probability=0.0)


def _images(n=4, size=8, channels=3, seed=0):
    return np.random.default_rng(seed).random((n, size, size, channels), dtype=np.float32)


def _ramp(n, size, axis):
    """Images whose value is the pixel's column (axis=2) or row (axis=1) index."""
    grid = np.arange(size, dtype=np.float32)
    image = grid[None, :, None] if axis == 2 else grid[:, None, None]
    return np.broadcast_to(image, (n, size, size, 1)).astype(np.float32).copy()


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


# -- the pipeline --------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3])
def test_shape_dtype_and_range(channels):
    layer = SimCLRAugment(seed=0, solarize_probability=0.5)
    x = _images(n=8, channels=channels)
    y = _np(layer(x, training=True))
    assert y.shape == x.shape and y.dtype == np.float32
    assert y.min() >= 0.0 and y.max() <= 1.0
    assert layer.compute_output_shape((None, 8, 8, channels)) == (None, 8, 8, channels)


def test_identity_when_not_training():
    layer = SimCLRAugment(seed=0)
    x = _images()
    np.testing.assert_array_equal(_np(layer(x, training=False)), x)
    np.testing.assert_array_equal(_np(layer(x)), x)


def test_two_calls_differ_and_samples_differ():
    layer = SimCLRAugment(seed=0)
    x = np.repeat(_images(n=1, size=16), 8, axis=0)  # one image, eight times
    a, b = _np(layer(x, training=True)), _np(layer(x, training=True))
    assert not np.allclose(a, b)
    assert not np.allclose(a[0], a[1])  # per-sample parameters


def test_same_seed_same_views():
    x = _images()
    np.testing.assert_allclose(_np(SimCLRAugment(seed=3)(x, training=True)), _np(SimCLRAugment(seed=3)(x, training=True)))


def test_full_crop_and_no_probabilities_is_identity():
    layer = SimCLRAugment(crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), **OFF, seed=0)
    x = _images(n=4, size=9)
    np.testing.assert_allclose(_np(layer(x, training=True)), x, atol=1e-6)


def test_grayscale_and_saturation_are_no_ops_for_one_channel():
    layer = ColorDistortion(strength=0.0, jitter_probability=0.0, grayscale_probability=1.0, seed=0)
    x = _images(channels=1)
    np.testing.assert_allclose(_np(layer(x, training=True)), x)


# -- RandomResizedCrop: closed forms on linear ramps (bilinear is exact on them) ---------


def test_crop_of_a_ramp_has_the_box_slope():
    # area 1/4, ratio 1: a 4x4 box of an 8x8 ramp, stretched to 8x8 -> slope 0.5 per pixel
    layer = RandomResizedCrop(scale=(0.25, 0.25), ratio=(1.0, 1.0), flip_probability=0.0, seed=0)
    y = _np(layer(_ramp(6, 8, axis=2), training=True))[..., 0]
    np.testing.assert_allclose(np.diff(y[:, :, 1:-1], axis=2), 0.5, atol=1e-5)
    assert y.min() >= 0.0 and y.max() <= 7.0


def test_crop_aspect_ratio_is_width_over_height():
    # area 1/4, ratio 4: width 8*sqrt(1) = 8 (whole), height 8*sqrt(1/16) = 2
    layer = RandomResizedCrop(scale=(0.25, 0.25), ratio=(4.0, 4.0), flip_probability=0.0, seed=0)
    along_x = _np(layer(_ramp(3, 8, axis=2), training=True))[..., 0]
    along_y = _np(layer(_ramp(3, 8, axis=1), training=True))[..., 0]
    np.testing.assert_allclose(along_x, _ramp(3, 8, axis=2)[..., 0], atol=1e-5)
    np.testing.assert_allclose(np.diff(along_y[:, 1:-1, :], axis=1), 0.25, atol=1e-5)


def test_flip_mirrors_exactly():
    layer = RandomResizedCrop(scale=(1.0, 1.0), ratio=(1.0, 1.0), flip_probability=1.0, seed=0)
    x = _images()
    np.testing.assert_allclose(_np(layer(x, training=True)), x[:, :, ::-1], atol=1e-6)


def test_crop_matches_affine_transform():
    """Independent reference: ops.image.affine_transform with the same per-sample mapping."""
    x = _images(n=5, size=8)
    layer = RandomResizedCrop(scale=(0.1, 1.0), flip_probability=0.5, seed=7)
    ours = _np(layer(x, training=True))
    # replay the layer's draws
    replay = RandomResizedCrop(scale=(0.1, 1.0), flip_probability=0.5, seed=7)
    u = lambda lo=0.0, hi=1.0: _np(keras.random.uniform((5,), lo, hi, seed=replay.seed_generator))  # noqa: E731
    area, log_r = u(0.1, 1.0), u(np.log(3 / 4), np.log(4 / 3))
    r = np.exp(log_r)
    cw, ch = np.clip(8 * np.sqrt(area * r), 1, 8), np.clip(8 * np.sqrt(area / r), 1, 8)
    x0, y0 = u() * (8 - cw), u() * (8 - ch)
    flip = (u() < 0.5).astype(np.float32)
    sx, sy = cw / 8, ch / 8
    z = np.zeros(5, np.float32)
    transform = np.stack([sx * (1 - 2 * flip), z, x0 - 0.5 + sx * (0.5 + 7 * flip), z, sy, y0 - 0.5 + 0.5 * sy, z, z], 1)
    ref = _np(keras.ops.image.affine_transform(x, transform.astype(np.float32), fill_mode="nearest", data_format="channels_last"))
    np.testing.assert_allclose(ours, ref, atol=1e-5)


# -- blur and colour: closed forms / independent references -------------------------


def test_blur_matches_scipy_gaussian_filter():
    from scipy.ndimage import gaussian_filter

    x = _images(n=2, size=12, channels=1)
    layer = RandomGaussianBlur(probability=1.0, sigma=(1.0, 1.0), kernel_size=5, seed=0)
    # 5 taps = radius 2 = truncate 2 sigma; ops.pad "reflect" is scipy's "mirror"
    ref = np.stack([gaussian_filter(img[..., 0], sigma=1.0, truncate=2.0, mode="mirror") for img in x])[..., None]
    np.testing.assert_allclose(_np(layer(x, training=True)), ref, atol=1e-5)


def test_blur_default_kernel_is_a_tenth_of_the_image():
    assert RandomGaussianBlur()._taps(32, 32) == 3
    assert RandomGaussianBlur()._taps(96, 96) == 9
    assert RandomGaussianBlur()._taps(224, 224) == 23


def test_grayscale_is_luma():
    x = _images()
    layer = ColorDistortion(strength=0.5, jitter_probability=0.0, grayscale_probability=1.0, seed=0)
    luma = x @ np.array([0.299, 0.587, 0.114], np.float32)
    np.testing.assert_allclose(_np(layer(x, training=True)), np.repeat(luma[..., None], 3, axis=-1), atol=1e-6)


def test_solarize():
    x = _images()
    layer = ColorDistortion(jitter_probability=0.0, grayscale_probability=0.0, solarize_probability=1.0, seed=0)
    np.testing.assert_allclose(_np(layer(x, training=True)), np.where(x >= 0.5, 1 - x, x), atol=1e-7)


def test_jitter_changes_colours_within_range():
    x = _images(n=16)
    y = _np(ColorDistortion(strength=1.0, jitter_probability=1.0, grayscale_probability=0.0, seed=0)(x, training=True))
    assert y.min() >= 0 and y.max() <= 1
    assert np.abs(y - x).mean(axis=(1, 2, 3)).min() > 1e-3  # every sample jittered


# -- arguments and serialization --------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"crop_scale": [0.9, 0.1]}, "crop_scale"),
        ({"crop_scale": [0.0, 1.0]}, "crop_scale"),
        ({"crop_ratio": [0.0, 1.0]}, "crop_ratio"),
        ({"flip_probability": 1.5}, "flip_probability"),
        ({"jitter_strength": -1}, "jitter_strength"),
        ({"jitter_probability": "often"}, "jitter_probability"),
        ({"grayscale_probability": -0.1}, "grayscale_probability"),
        ({"blur_probability": 2}, "blur_probability"),
        ({"blur_sigma": [2.0]}, "blur_sigma"),
        ({"blur_kernel_size": 4}, "blur_kernel_size"),
        ({"solarize_probability": 1.1}, "solarize_probability"),
        ({"seed": "abc"}, "seed"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, argument):
    with pytest.raises(ArgumentError) as info:
        SimCLRAugment(**kwargs)
    assert info.value.argument == argument


def test_defaults_are_the_papers():
    config = SimCLRAugment().get_config()
    assert config["crop_scale"] == [0.08, 1.0] and config["crop_ratio"] == pytest.approx([3 / 4, 4 / 3])
    assert (config["flip_probability"], config["jitter_strength"], config["jitter_probability"]) == (0.5, 0.5, 0.8)
    assert (config["grayscale_probability"], config["blur_probability"], config["blur_sigma"]) == (0.2, 0.5, [0.1, 2.0])
    assert config["solarize_probability"] == 0.0 and config["seed"] is None


@pytest.mark.parametrize("cls", [SimCLRAugment, RandomResizedCrop, RandomGaussianBlur, ColorDistortion])
def test_get_config_is_exactly_the_constructor_arguments(cls):
    import inspect

    layer = cls(seed=5)
    base = set(keras.layers.Layer(name="x").get_config())
    own = set(layer.get_config()) - base
    assert own == set(inspect.signature(cls).parameters) - {"kwargs"}
    again = cls.from_config(layer.get_config())
    assert again.get_config() == layer.get_config()


def test_keras_round_trip_without_custom_objects(tmp_path):
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, SimCLRAugment(crop_scale=(0.3, 1.0), blur_kernel_size=3, seed=1, name="aug")(inputs))
    path = tmp_path / "augmenter.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    layer = loaded.get_layer("aug")
    assert isinstance(layer, SimCLRAugment)
    assert layer.get_config() == model.get_layer("aug").get_config()
    x = _images()
    np.testing.assert_array_equal(_np(loaded(x, training=False)), x)
    np.testing.assert_allclose(_np(layer(x, training=True)), _np(model.get_layer("aug")(x, training=True)), atol=1e-6)


def test_augmenter_is_registered_through_the_hook():
    from kssl.plugins import get_plugin_manager

    _, registry = get_plugin_manager()
    assert registry.entry("augmenter", "simclr").factory is SimCLRAugment


# -- inside compiled functions and train steps -------------------------------------------


def _tiny_model(channels=3):
    inputs = keras.Input((8, 8, channels))
    x = SimCLRAugment(seed=0, name="aug")(inputs)
    outputs = keras.layers.Dense(1)(keras.layers.Flatten()(x))
    return keras.Model(inputs, outputs)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow check")
def test_inside_tf_function():
    import tensorflow as tf

    layer = SimCLRAugment(seed=0)
    x = _images(n=4)

    @tf.function(jit_compile=False)
    def two_views(batch):
        return layer(batch, training=True), layer(batch, training=True)

    a, b = two_views(x)
    c, _ = two_views(x)
    assert a.shape == x.shape and not np.allclose(a, b) and not np.allclose(a, c)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow check")
@pytest.mark.parametrize("jit_compile", [False, True])
def test_in_a_compiled_tf_train_step(jit_compile):
    model = _tiny_model()
    model.compile(optimizer="sgd", loss="mse", jit_compile=jit_compile)
    state = [_np(v).copy() for v in model.get_layer("aug").non_trainable_variables]
    history = model.fit(_images(n=8), np.zeros((8, 1), "float32"), batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    after = [_np(v) for v in model.get_layer("aug").non_trainable_variables]
    assert any(not np.array_equal(a, b) for a, b in zip(state, after))  # the random streams advanced


JAX_CHECK = textwrap.dedent(
    """
    import jax, numpy as np, keras
    assert keras.backend.backend() == "jax"
    from kssl.augment.simclr_augment import SimCLRAugment

    x = np.random.default_rng(0).random((8, 8, 8, 3), dtype=np.float32)
    layer = SimCLRAugment(seed=0)
    layer.build(x.shape)

    @jax.jit
    def views(state, batch):
        a, state = layer.stateless_call([], state, batch, training=True)
        b, state = layer.stateless_call([], state, batch, training=True)
        return a, b, state

    a, b, _ = views([v.value for v in layer.non_trainable_variables], x)
    assert a.shape == x.shape and not np.allclose(a, b) and 0 <= float(a.min()) and float(a.max()) <= 1
    """
) + augmenter_fit_script('SimCLRAugment(seed=0, name="aug")', channels=3)


@pytest.mark.slow
def test_jitted_on_jax_in_a_subprocess():
    run_on_jax(JAX_CHECK)
