"""kssl.testing: the helpers pass good components and catch broken ones with a useful message."""

import types

import keras
import numpy as np
import pytest

import kssl
from kssl.errors import RecipeError
from kssl.plugins import get_registry
from kssl.testing import (
    assert_round_trip,
    build_component,
    check_augmenter,
    check_encoder,
    check_pretext,
    check_registered,
    fit_one_step,
    smoke_test_recipe,
    tiny_encoder,
    tiny_images,
)


def test_build_component_calls_the_factory_like_a_recipe():
    def factory(input_shape, size: int = 1):
        return (input_shape, size)

    assert build_component("encoder", factory, {"size": 3}, context={"input_shape": (8, 8, 1), "num_classes": 10}) == ((8, 8, 1), 3)
    with pytest.raises(RecipeError, match=r"encoder.sise: unknown argument .* Did you mean 'size'"):
        build_component("encoder", factory, {"sise": 3}, context={"input_shape": (8, 8, 1)})


def test_good_builtin_components_pass(tmp_path):
    registry = get_registry()
    check_augmenter(registry.get("augmenter", "simclr"), {"blur_probability": 0.0, "seed": 0}, tmp_path=tmp_path)
    check_encoder(registry.get("encoder", "cnn"), {"filters": [4, 8]}, tmp_path=tmp_path)
    augmenter = registry.get("augmenter", "simclr")(blur_probability=0.0, seed=0)  # SimCLR needs views to compare
    model = check_pretext(registry.get("pretext", "simclr"), {"projection_dim": 4, "projection_hidden_dims": [8]}, augmenter=augmenter, tmp_path=tmp_path)
    assert model.optimizer.iterations.numpy() == 1


@keras.saving.register_keras_serializable(package="kssl_tests")
class Shrink(keras.layers.Layer):
    def call(self, x, training=False):
        return x[:, 1:] if training else x


@keras.saving.register_keras_serializable(package="kssl_tests")
class Fixed(keras.layers.Layer):
    def call(self, x, training=False):
        return 1.0 - x if training else x


@keras.saving.register_keras_serializable(package="kssl_tests")
class AlwaysOn(keras.layers.Layer):
    def __init__(self, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=False):
        return x + keras.random.uniform(keras.ops.shape(x), seed=self.generator)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="kssl_tests")
class ForgetsItsArgument(keras.layers.Layer):
    def __init__(self, strength=0.5, **kwargs):
        super().__init__(**kwargs)
        self.strength = strength
        self.generator = keras.random.SeedGenerator(0)

    def call(self, x, training=False):
        return x + self.strength * keras.random.uniform(keras.ops.shape(x), seed=self.generator) if training else x

    def get_config(self):  # hand-written and incomplete (Keras' automatic config would have had it)
        config = super().get_config()
        config.pop("strength", None)
        return config


class Unregistered(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.generator = keras.random.SeedGenerator(0)

    def call(self, x, training=False):
        return x + keras.random.uniform(keras.ops.shape(x), seed=self.generator) if training else x


@pytest.mark.parametrize(
    "layer, message",
    [
        (Shrink, "changed the shape"),
        (Fixed, "gave the same output; augmenters are random"),
        (AlwaysOn, "with training=False the output differs from the input"),
        (ForgetsItsArgument, r"get_config\(\) lacks constructor argument\(s\) \['strength'\]"),
        (Unregistered, "does not reload without custom_objects"),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else "",
)
def test_broken_augmenters_are_caught(layer, message, tmp_path):
    with pytest.raises(AssertionError, match=message):
        check_augmenter(layer, tmp_path=tmp_path)


def test_an_encoder_must_give_flat_features(tmp_path):
    def feature_maps(input_shape):
        inputs = keras.Input(input_shape)
        return keras.Model(inputs, keras.layers.Conv2D(2, 3)(inputs))

    with pytest.raises(AssertionError, match=r"expected \(N, D\) features"):
        check_encoder(feature_maps, tmp_path=tmp_path)


def test_a_pretext_must_be_a_pretext_task_exposing_its_encoder(tmp_path):
    import kssl

    class PlainModel(keras.Model):
        def __init__(self, encoder, **kwargs):
            super().__init__(**kwargs)
            self.encoder = encoder

    with pytest.raises(AssertionError, match="must return a kssl.PretextTask subclass, got PlainModel"):
        check_pretext(PlainModel, tmp_path=tmp_path)

    class OtherEncoder(kssl.PretextTask):
        def __init__(self, encoder, **kwargs):
            super().__init__(tiny_encoder((16, 16, 1)), **kwargs)

    with pytest.raises(AssertionError, match="must expose the encoder it was given as `.encoder`"):
        check_pretext(OtherEncoder, tmp_path=tmp_path)


def test_fit_one_step_needs_a_loss_connected_to_the_weights():
    import kssl

    class Detached(kssl.PretextTask):
        def __init__(self, **kwargs):
            super().__init__(tiny_encoder((8, 8, 1)), **kwargs)

        def call(self, x, training=False):
            return self.encoder(x)

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            return keras.ops.sum(keras.ops.stop_gradient(y_pred)) * 0.0 + 1.0

    with pytest.raises(AssertionError, match="changed no trainable weight"):
        fit_one_step(Detached(), tiny_images(4, 8))


def test_round_trip_of_a_loss():
    from kssl.losses.nt_xent import NTXentLoss

    restored = assert_round_trip(NTXentLoss(temperature=0.3))
    assert isinstance(restored, NTXentLoss) and restored.temperature == 0.3


def test_round_trip_compares_weights_and_outputs(tmp_path):
    model = tiny_encoder((8, 8, 1))
    x = tiny_images(2, 8)
    loaded = assert_round_trip(model, x=x, tmp_path=tmp_path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_check_registered_with_a_plugin_module():
    module = types.ModuleType("kssl_example_plugin")
    module.kssl_register = kssl.hookimpl(lambda registry: registry.add("augmenter", "example_fixed", Fixed))
    assert check_registered("augmenter", "example_fixed", module=module).factory is Fixed
    with pytest.raises(AssertionError, match="provided by 'kssl', not 'kssl-other'"):
        check_registered("pretext", "simclr", distribution="kssl-other")

    def broken(registry):
        raise RuntimeError("no weights")

    module.kssl_register = kssl.hookimpl(broken)
    with pytest.raises(AssertionError, match="failed to load: kssl_example_plugin .*RuntimeError: no weights"):
        check_registered("augmenter", "example_fixed", module=module)


def test_smoke_test_recipe_runs_kssl_train(tiny_recipe, tmp_path):
    tiny_recipe["eval"] = [{"type": "knn", "k": 3}]
    run_dir, metrics = smoke_test_recipe(tiny_recipe, ["data.limit=64"], output_dir=tmp_path)
    assert run_dir.parent == tmp_path and metrics["epochs"] == 1
    assert {"knn_accuracy", "random_init.knn_accuracy"} <= set(metrics["metrics"])
