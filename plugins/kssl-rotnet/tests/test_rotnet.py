"""The RotNet component: rotations, loss, contract, errors (kssl-rotnet must be installed)."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from kssl_rotnet.rotnet import RotNet, rotate_batch

import kssl
from kssl.errors import RecipeError
from kssl.heads import MLPHead
from kssl.testing import build_component, check_pretext, tiny_encoder, tiny_images


def test_rotations_match_numpy_rot90():
    x = tiny_images(3, 8, 2)
    rotated, labels = rotate_batch(x)
    expected = np.concatenate([np.stack([np.rot90(image, k) for image in x]) for k in range(4)])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(rotated), expected)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(labels), np.repeat(np.arange(4), 3))


def test_loss_is_the_cross_entropy_of_the_rotation_labels():
    model = RotNet(tiny_encoder((8, 8, 1)), head_hidden_dims=[])
    logits = np.random.default_rng(0).normal(size=(4 * 5, 4)).astype("float32")
    loss = float(keras.ops.convert_to_numpy(model.compute_loss(y_pred=logits)))
    labels = np.repeat(np.arange(4), 5)
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert loss == pytest.approx(-log_softmax[np.arange(20), labels].mean(), rel=1e-5)


def test_uniform_logits_give_log4():
    model = RotNet(tiny_encoder((8, 8, 1)), head_hidden_dims=[])
    loss = float(keras.ops.convert_to_numpy(model.compute_loss(y_pred=np.zeros((8, 4), "float32"))))
    assert loss == pytest.approx(np.log(4.0), rel=1e-6)


def test_a_pretext_task_with_one_mlp_head_of_four_logits():
    model = RotNet(tiny_encoder((8, 8, 1)), head_hidden_dims=[16], head_batch_norm=False)
    assert isinstance(model, kssl.PretextTask) and isinstance(model.head, MLPHead)
    assert (model.head.hidden_dims, model.head.output_dim, model.head.batch_norm) == ([16], 4, False)
    assert {"head_hidden_dims": [16], "head_batch_norm": False}.items() <= model.get_config().items()


def test_component_contract(tmp_path):
    augmenter = keras.layers.RandomTranslation(0.1, 0.1, seed=0)
    model = check_pretext(RotNet, {"head_hidden_dims": [16]}, augmenter=augmenter, tmp_path=tmp_path)
    assert keras.ops.convert_to_numpy(model(tiny_images(2), training=False)).shape == (8, 4)


def test_the_augmenter_runs_only_when_training():
    calls = []

    class Spy(keras.layers.Layer):
        def call(self, x, training=False):
            calls.append(training)
            return x

    model = RotNet(tiny_encoder((8, 8, 1)), augmenter=Spy(), head_hidden_dims=[])
    model(tiny_images(2, 8), training=False)
    model(tiny_images(2, 8), training=True)
    assert calls == [True]


def test_non_square_images_are_rejected():
    # An error about an object the builder passes in names that object's own section.
    with pytest.raises(RecipeError, match=r"^encoder: rotnet needs square images .* 16x12"):
        build_component("pretext", RotNet, {}, objects={"encoder": tiny_encoder((16, 12, 1))})


@pytest.mark.parametrize(
    "args, path",
    [
        ({"head_hidden_dims": 64}, "pretext.head_hidden_dims"),
        ({"head_hidden_dims": [0]}, "pretext.head_hidden_dims"),
        ({"head_batch_norm": "yes"}, "pretext.head_batch_norm"),
    ],
)
def test_bad_arguments_name_the_key(args, path):
    with pytest.raises(RecipeError, match=path):
        build_component("pretext", RotNet, args, objects={"encoder": tiny_encoder()})


def test_trains_on_jax(tmp_path):
    code = textwrap.dedent(
        f"""
        from kssl.testing import check_pretext
        from kssl_rotnet.rotnet import RotNet
        check_pretext(RotNet, {{"head_hidden_dims": [8]}}, tmp_path={str(tmp_path)!r})
        import keras; print("backend", keras.backend.backend())
        """
    )
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "backend jax" in result.stdout
