"""Helpers for plugin authors: check a component the way kssl uses it.

Each helper raises ``AssertionError`` with a message that says what is wrong, so
they read naturally in a pytest test::

    from kssl.testing import check_pretext, check_registered, smoke_test_recipe

    def test_rotnet_component(tmp_path):
        check_pretext(RotNet, {"head_hidden_dims": [16]}, tmp_path=tmp_path)

    def test_the_installed_plugin_registers_rotnet():
        check_registered("pretext", "rotnet", distribution="kssl-rotnet")

    def test_the_zoo_recipe_trains_one_step(tmp_path):
        smoke_test_recipe("rotnet", ["data.limit=128"], output_dir=tmp_path)

``import kssl.testing`` imports kssl, which loads the plugin registry (and Keras):
set ``KERAS_BACKEND`` first when a test needs a particular backend.
"""

from kssl.testing.components import (
    build_component,
    check_augmenter,
    check_encoder,
    check_pretext,
    fit_one_step,
    tiny_encoder,
    tiny_images,
)
from kssl.testing.recipes import smoke_test_recipe
from kssl.testing.registration import check_registered
from kssl.testing.serialization import assert_round_trip

__all__ = [
    "assert_round_trip",
    "build_component",
    "check_augmenter",
    "check_encoder",
    "check_pretext",
    "check_registered",
    "fit_one_step",
    "smoke_test_recipe",
    "tiny_encoder",
    "tiny_images",
]
