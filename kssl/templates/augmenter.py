"""``kssl new-plugin NAME --kind augmenter``: an example augmenter (Gaussian noise)."""

from kssl.templates.common import Scaffold, recipe

COMPONENT = '''\
"""The $name augmenter (an example: replace it with your component)."""

from __future__ import annotations

import keras
from keras import ops
from kssl.checks import check_int, check_positive


@keras.saving.register_keras_serializable(package="$package")
class $cls(keras.layers.Layer):
    """Adds Gaussian noise of standard deviation ``stddev`` to images in [0, 1] (training only).

    Random when called with ``training=True``, the identity otherwise; the output
    has the input's shape and is clipped to [0, 1]. Pure ``keras.ops``, so it runs
    on every backend, eagerly, in tf.data and inside a jitted train step.

    Args:
        stddev: standard deviation of the noise, > 0.
        seed: seed of the random stream (None: random).
    """

    def __init__(self, stddev: float = 0.1, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = check_positive("stddev", stddev)
        self.seed = None if seed is None else check_int("seed", seed, low=0)
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def call(self, x, training=False):
        if not training:
            return x
        noise = keras.random.normal(ops.shape(x), stddev=self.stddev, dtype=x.dtype, seed=self.seed_generator)
        return ops.clip(x + noise, 0.0, 1.0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(stddev=self.stddev, seed=self.seed)
        return config
'''

TESTS = '''\
"""The $name augmenter: its contract, its noise statistics, and its argument checks."""

import keras
import numpy as np
import pytest
from kssl.errors import RecipeError
from kssl.testing import build_component, check_augmenter

from $package.$name import $cls


def test_component(tmp_path):
    check_augmenter($cls, {"stddev": 0.2, "seed": 0}, tmp_path=tmp_path)


def test_the_noise_has_the_requested_statistics():
    # 0.5 + N(0, 0.05^2) leaves [0, 1] with probability ~1e-23: the clip changes nothing, so the
    # noise of ~50k pixels has mean 0 and standard deviation 0.05 up to sampling error (< 1%).
    x = np.full((64, 16, 16, 3), 0.5, dtype="float32")
    noise = keras.ops.convert_to_numpy($cls(stddev=0.05, seed=0)(x, training=True)) - 0.5
    assert abs(noise.mean()) < 0.05 * 5 / np.sqrt(noise.size)
    np.testing.assert_allclose(noise.std(), 0.05, rtol=0.02)


def test_the_output_is_clipped_to_the_unit_interval():
    # At x = 1 half of the noise is positive: those pixels are clipped to exactly 1.
    x = np.ones((64, 16, 16, 1), dtype="float32")
    y = keras.ops.convert_to_numpy($cls(stddev=0.3, seed=1)(x, training=True))
    assert y.min() >= 0.0 and y.max() <= 1.0
    np.testing.assert_allclose(np.mean(y == 1.0), 0.5, atol=0.02)


def test_bad_argument_names_the_recipe_key():
    with pytest.raises(RecipeError, match="augmenter.stddev: expected a positive number"):
        build_component("augmenter", $cls, {"stddev": -1})
'''

RECIPE = recipe(
    "SimCLR on the scikit-learn digits with the $name augmenter ($dist); offline, CPU minutes",
    augmenter="{type: $name, stddev: 0.1}",
)

SCAFFOLD = Scaffold(
    kind="augmenter",
    is_class=True,
    summary="Gaussian noise, an example to replace with yours",
    usage="augmenter: {type: $name, stddev: 0.1}",
    develop="replace the example with yours, keeping\n  explicit keyword arguments stored under the same names and returned by `get_config`.",
    recipe=RECIPE,
    smoke_overrides=("data.limit=128", "data.image_size=16"),
    smoke_check='recipe["augmenter"]["type"] == "$name"',
    component=COMPONENT,
    tests=TESTS,
)
