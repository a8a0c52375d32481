"""DINO: the loss and the centre update against numpy, the pretext task, its bad arguments, a JAX fit.

The zoo recipe is covered by tests/test_zoo.py, the 2-replica step (loss, weights, centre) by tests/test_dino_replicas.py.
"""

import copy

import keras
import numpy as np
import pytest
from jax_subprocess import run_on_jax

from kssl.errors import RecipeError
from kssl.heads import MLPHead
from kssl.heads.prototypes import Prototypes
from kssl.losses import DINOLoss, dino_loss, updated_center
from kssl.plugins import get_registry
from kssl.pretext.dino import DINO
from kssl.testing import build_component, check_pretext, tiny_encoder, tiny_images

SMALL = {"out_dim": 12, "head_hidden_dims": [16], "bottleneck_dim": 8}


def _np(value):
    return np.asarray(keras.ops.convert_to_numpy(value))


def _reference(teacher, student, tt, ts, center):
    """Algorithm 1 of the paper with explicit loops, float64: H(softmax((t - c) / tt), softmax(s / ts)) per pair, per sample."""
    n_t, n, k = teacher.shape
    n_s = student.shape[0]
    out = np.zeros(n)
    for i in range(n):
        terms = []
        for a in range(n_t):
            for b in range(n_s):
                if a == b:
                    continue
                t = [(teacher[a, i, j] - center[j]) / tt for j in range(k)]
                s = [student[b, i, j] / ts for j in range(k)]
                p_t = np.exp(np.array(t) - max(t)) / np.exp(np.array(t) - max(t)).sum()
                log_p_s = np.array(s) - (max(s) + np.log(np.exp(np.array(s) - max(s)).sum()))
                terms.append(-sum(p_t[j] * log_p_s[j] for j in range(k)))
        out[i] = sum(terms) / len(terms)
    return out


def test_loss_matches_a_numpy_reference_with_loops():
    rng = np.random.default_rng(0)
    teacher = rng.normal(size=(2, 5, 7))
    student = rng.normal(size=(4, 5, 7))  # 2 global views + 2 local crops
    center = rng.normal(size=7) * 0.3
    expected = _reference(teacher, student, 0.04, 0.1, center)
    t, s, c = teacher.astype("float32"), student.astype("float32"), center.astype("float32")
    np.testing.assert_allclose(_np(dino_loss(t, s, 0.04, 0.1, center=c[None])), expected, rtol=1e-4)
    np.testing.assert_allclose(_np(dino_loss(t, s, 0.5, 0.2)), _reference(teacher, student, 0.5, 0.2, np.zeros(7)), rtol=1e-5)
    assert float(_np(DINOLoss(0.04, 0.1)(t - c, s))) == pytest.approx(expected.mean(), rel=1e-4)


def test_closed_forms():
    # A uniform teacher (equal logits, whatever the centre) and a uniform student: every term is log K.
    k = 6
    assert _np(dino_loss(np.ones((2, 3, k), "float32"), np.zeros((3, 3, k), "float32"))) == pytest.approx(np.full(3, np.log(k)), rel=1e-6)
    # A one-hot teacher (sharp) and student logits s: the term is -log softmax(s / ts) at the teacher's class.
    teacher = np.zeros((1, 1, 3), "float32")
    teacher[0, 0, 1] = 10.0
    student = np.array([[[0.0, 0.0, 0.0]], [[0.1, 0.3, 0.2]]], "float32")
    expected = -(0.3 / 0.1 - np.log(np.exp(student[1, 0] / 0.1).sum()))
    assert float(_np(dino_loss(teacher, student, 0.01, 0.1)[0])) == pytest.approx(expected, rel=1e-5)


def test_centre_update_matches_numpy():
    rng = np.random.default_rng(1)
    teacher, center = rng.normal(size=(2, 6, 5)), rng.normal(size=(1, 5))
    expected = 0.9 * center + 0.1 * teacher.reshape(-1, 5).mean(axis=0, keepdims=True)  # mean over both views and all samples
    np.testing.assert_allclose(_np(updated_center(center.astype("float32"), teacher.astype("float32"), 0.9)), expected, rtol=1e-5)
    batch_mean = teacher.reshape(-1, 5).mean(axis=0, keepdims=True)
    np.testing.assert_allclose(_np(updated_center(center.astype("float32"), teacher.astype("float32"), 0.0)), batch_mean, rtol=1e-5)


def test_the_loss_keeps_its_config():
    again = DINOLoss.from_config(DINOLoss(0.07, 0.2).get_config())
    assert (again.teacher_temperature, again.student_temperature, again.name) == (0.07, 0.2, "dino")


def _model(**args):
    model = DINO(tiny_encoder((8, 8, 1)), keras.layers.GaussianNoise(0.3, seed=0), **{**SMALL, **args})
    model(tiny_images(2, 8))
    return model


def test_student_teacher_outputs_and_the_loss_with_the_centre():
    model = _model(local_crops=2, teacher_temperature=0.05, student_temperature=0.2, center_momentum=0.8)
    x = tiny_images(5, 8)
    assert isinstance(model.head, MLPHead) and model.head.output_dim == 8 and isinstance(model.last_layer, Prototypes)
    out = _np(model(x, training=True))
    assert out.shape == (2 + 2 + 2, 5, 12)  # 2 global + 2 local student views, then the teacher's 2 global views
    assert np.abs(out).max() <= 1.0 + 1e-5  # cosine similarities: L2-normalised bottleneck, weight-normalised last layer
    plain = _np(model(x))
    assert plain.shape == (4, 5, 12)
    np.testing.assert_allclose(plain[:2], plain[2:], atol=1e-5)  # before training the teacher is a copy of the student
    center = np.random.default_rng(2).normal(size=(1, 12)).astype("float32") * 0.1
    model.center.assign(center)
    expected = _reference(out[-2:].astype("float64"), out[:-2].astype("float64"), 0.05, 0.2, center[0]).mean()
    assert float(_np(model.compute_loss(y_pred=out, training=False))) == pytest.approx(expected, rel=1e-4)
    np.testing.assert_allclose(_np(model.center), center)  # not training: the centre stays
    model.compute_loss(y_pred=out, training=True)
    np.testing.assert_allclose(_np(model.center), 0.8 * center + 0.2 * out[-2:].reshape(-1, 12).mean(0), rtol=1e-5, atol=1e-7)


def test_training_moves_the_centre_and_the_teacher_and_round_trips(tmp_path):
    augmenter = get_registry().get("augmenter", "simclr")(blur_probability=0.0, seed=0)
    model = check_pretext(DINO, {**SMALL, "local_crops": 1, "base_momentum": 0.5}, augmenter=augmenter, tmp_path=tmp_path)
    assert np.abs(_np(model.center)).max() > 0  # the centre followed the teacher's outputs
    teacher, student = model.target_encoder.get_weights(), model.encoder.get_weights()
    assert all(not v.trainable for _, v in model.target_pairs()) and len(model.target_pairs()) > 0
    assert any(not np.allclose(t, s) for t, s in zip(teacher, student))  # the teacher lags the student
    model.save(tmp_path / "dino.keras")
    again = keras.models.load_model(tmp_path / "dino.keras")
    np.testing.assert_allclose(_np(again.center), _np(model.center))
    for a, b in zip(again.target_encoder.get_weights(), teacher):
        np.testing.assert_allclose(a, b)


def test_registered_as_dino():
    assert get_registry().get("pretext", "dino") is DINO


@pytest.mark.parametrize(
    "args, path",
    [
        ({"teacher_temperature": 0}, "pretext.teacher_temperature: expected a positive number"),
        ({"teacher_temperature": -0.04}, "pretext.teacher_temperature: expected a positive number"),
        ({"student_temperature": 0.0}, "pretext.student_temperature: expected a positive number"),
        ({"center_momentum": 1.0}, r"pretext.center_momentum: expected a momentum in \[0, 1\)"),
        ({"center_momentum": -0.1}, r"pretext.center_momentum: expected a momentum in \[0, 1\)"),
        ({"base_momentum": 1.0}, "pretext.base_momentum"),
        ({"local_crops": -1}, "pretext.local_crops"),
        ({"local_scale": [0.5, 1.5]}, "pretext.local_scale"),
        ({"out_dim": 1}, "pretext.out_dim"),
    ],
)
def test_bad_arguments_name_the_key(args, path):
    with pytest.raises(RecipeError, match=path):
        build_component("pretext", DINO, args, objects={"encoder": tiny_encoder(), "augmenter": keras.layers.GaussianNoise(0.1)})


TINY_DINO = {
    "name": "tiny-dino",
    "seed": 0,
    "data": {"type": "digits", "image_size": 16, "batch_size": 32, "limit": 64},
    "augmenter": {"type": "simclr", "crop_scale": [0.5, 1.0], "blur_probability": 0.0},
    "encoder": {"type": "cnn", "filters": [8, 16]},
    "pretext": {"type": "dino", **SMALL, "local_crops": 1},
    "train": {"epochs": 1, "verbose": 0},
    "eval": [{"type": "knn", "k": 5}],
}


@pytest.mark.parametrize(
    "change, fragments",
    [
        ({"augmenter": None}, ["augmenter:", "needs an augmenter"]),
        ({"pretext": {**TINY_DINO["pretext"], "teacher_temperature": 0}}, ["pretext.teacher_temperature", "positive", "0"]),
        ({"pretext": {**TINY_DINO["pretext"], "local_size": 32}}, ["pretext.local_size", "at most the image's 16 pixels, got 32"]),
        ({"pretext": {**TINY_DINO["pretext"], "local_size": 8}}, ["pretext.local_size", "does not take 8-pixel views", "local_size: null"]),
    ],
)
def test_bad_recipes_exit_2_naming_the_key_with_nothing_written(write_recipe, tmp_path, change, fragments):
    from click.testing import CliRunner

    from kssl.cli import main

    recipe = {**copy.deepcopy(TINY_DINO), **change}
    out = tmp_path / "runs"
    result = CliRunner().invoke(main, ["train", str(write_recipe(recipe)), "--output-dir", str(out)], catch_exceptions=False)
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    for fragment in fragments:
        assert fragment in result.output.replace("\n", " "), result.output
    assert not out.exists() or not any(out.iterdir())


JAX_FIT = """
import numpy as np, keras
from kssl.augment.simclr_augment import SimCLRAugment
from kssl.pretext.dino import DINO
from kssl.testing import tiny_encoder, tiny_images
x = tiny_images(16, 8)
model = DINO(tiny_encoder((8, 8, 1)), SimCLRAugment(blur_probability=0.0, seed=0), out_dim=12, head_hidden_dims=[16], bottleneck_dim=8,
             local_crops=1, base_momentum=0.5)
model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=True)
model(x[:2])
teacher = [np.array(w) for w in model.target_encoder.get_weights()]
loss = model.fit(x, batch_size=8, epochs=2, verbose=0).history["loss"]
assert np.isfinite(loss).all()
center = keras.ops.convert_to_numpy(model.center)
assert np.abs(center).max() > 0, "the centre did not move"
assert any(not np.allclose(a, b) for a, b in zip(teacher, model.target_encoder.get_weights())), "the teacher did not move"
model.save("/tmp/kssl_dino_jax.keras")
again = keras.models.load_model("/tmp/kssl_dino_jax.keras")
np.testing.assert_allclose(keras.ops.convert_to_numpy(again.center), center)
np.testing.assert_allclose(again.embed(x), model.embed(x), rtol=1e-5, atol=1e-5)
print("JAX-OK")
"""


@pytest.mark.slow
def test_fits_and_round_trips_on_jax():
    run_on_jax(JAX_FIT, timeout=300)
