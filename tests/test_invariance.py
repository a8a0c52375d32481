"""The invariance evaluator: closed forms of the score and the probes, the augmenters' factors, bad input, and a training that
shows colour-jitter invariance rising when the augmenter jitters colours (the measure of issue #21)."""

import json

import keras
import numpy as np
import pytest
from click.testing import CliRunner

from kssl.augment.color_distortion import ColorDistortion
from kssl.augment.factors import AugmentationFactors
from kssl.augment.random_affine import RandomAffine
from kssl.augment.simclr_augment import SimCLRAugment
from kssl.data.coloured_digits import coloured_digits
from kssl.errors import ArgumentError, KsslError
from kssl.eval.invariance import InvarianceEvaluator, derangement, invariance_score, probe_score


class ToyFactors(AugmentationFactors, keras.layers.Layer):
    """A plugin-style augmenter declaring closed-form factors: the identity, a swap for other images, an added constant."""

    def augmentation_factors(self, channels):
        def identity(x, rng):
            return x.copy(), {}

        def swap(x, rng):  # every image replaced by another one
            return x[derangement(len(x), rng)], {}

        def offset(x, rng):  # every pixel + c: the features' mean moves by c, which a linear probe reads off
            c = rng.uniform(0.0, 1.0, len(x))
            return (x + c[:, None, None, None]).astype("float32"), {"offset": c}

        return {"identity": identity, "swap": swap, "offset": offset}


class ToyModel:
    """What the evaluator needs of a model: ``augmenter``, ``encoder.input_shape`` and ``embed`` (here: the pixels, flattened)."""

    def __init__(self, augmenter, shape=(None, 8, 8, 3)):
        self.augmenter, self.encoder = augmenter, keras.layers.Identity()
        self.encoder.input_shape = shape

    def embed(self, x, batch_size=256):
        return np.asarray(x, np.float32).reshape(len(x), -1)


@pytest.fixture(scope="module")
def data():
    return coloured_digits(image_size=8, test_fraction=0.25)


def test_score_is_one_for_the_identity_and_about_zero_for_another_image():
    f = np.random.default_rng(0).normal(size=(2000, 16))
    other = f[derangement(2000, np.random.default_rng(1))]
    assert invariance_score(f, f, other) == 1.0
    assert abs(invariance_score(f, f[derangement(2000, np.random.default_rng(2))], other)) < 0.02
    assert invariance_score(f, 3.0 * f, other) == pytest.approx(1.0)  # features are L2-normalised: a scale is no move
    assert invariance_score(np.ones((5, 3)), np.eye(5, 3), np.ones((5, 3))) == 1.0  # collapsed features: invariant by definition


def test_derangement_moves_every_index():
    for n in (2, 3, 50):
        p = derangement(n, np.random.default_rng(n))
        assert sorted(p) == list(range(n)) and not np.any(p == np.arange(n))


def test_probe_scores_against_closed_forms():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1000, 5))
    w = np.array([0.6, 0.8, 0.0, 0.0, 0.0])  # |w| = 1: R^2 = 1 / (1 + 0.5^2) = 0.8
    assert probe_score(x, x @ w + 0.5 * rng.normal(size=1000), 5, 0, binary=False) == pytest.approx(0.8, abs=0.04)
    assert probe_score(x, rng.normal(size=1000), 5, 0, binary=False) < 0.02
    labels = (x[:, 0] > 0).astype(int)
    assert probe_score(x, labels, 5, 0, binary=True) > 0.97
    assert abs(probe_score(x, rng.permutation(labels), 5, 0, binary=True) - 0.5) < 0.06


def test_evaluator_on_closed_form_factors(data):
    evaluator = InvarianceEvaluator(pixel_baseline=True)
    scores = evaluator.evaluate(ToyModel(ToyFactors()), data)
    assert scores["invariance.identity"] == 1.0 and scores["pixels.invariance.identity"] == 1.0
    assert abs(scores["invariance.swap"]) < 0.1 and abs(scores["pixels.invariance.swap"]) < 0.1
    assert abs(scores["factor_probe.identity"] - 0.5) < 0.1  # views equal to the originals: chance
    assert scores["factor_probe.offset"] > 0.95  # the added constant is plain in the pixels
    assert 0.0 < scores["invariance.offset"] < 1.0 and scores["pixels.invariance.offset"] == scores["invariance.offset"]  # the model is the pixels
    assert "pixels.factor_probe.offset" not in scores
    assert InvarianceEvaluator(pixel_baseline=True).evaluate(ToyModel(ToyFactors()), data) == scores  # seeded: the same views every time
    assert InvarianceEvaluator(factors=["swap"]).evaluate(ToyModel(ToyFactors()), data).keys() == {
        "invariance.swap",
        "factor_probe.swap",
        "pixels.invariance.swap",
    }
    assert evaluator.for_baseline().get_config() == {**evaluator.get_config(), "pixel_baseline": False}


def test_the_augmenters_declare_their_factors_with_their_ranges():
    assert list(SimCLRAugment().augmentation_factors(3)) == ["crop", "flip", "colour_jitter", "grayscale", "blur", "solarize"]
    assert list(SimCLRAugment(jitter_strength=0.0).augmentation_factors(1)) == ["crop", "flip", "blur", "solarize"]
    assert list(RandomAffine().augmentation_factors(3)) == ["translation", "rotation"]
    assert list(RandomAffine(rotation=0.0).augmentation_factors(1)) == ["translation"]
    x = np.random.default_rng(0).uniform(size=(6, 8, 8, 3)).astype("float32")
    factors = SimCLRAugment(crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), jitter_strength=0.5, blur_sigma=(1.0, 2.0)).augmentation_factors(3)
    rng = np.random.default_rng(0)
    crop, params = factors["crop"](x, rng)
    np.testing.assert_allclose(crop, x, atol=1e-6)  # the whole image: the identity
    np.testing.assert_allclose(params["crop_x"], 0.5) and np.testing.assert_allclose(params["crop_area"], 1.0)
    np.testing.assert_allclose(factors["flip"](x, rng)[0], x[:, :, ::-1], atol=1e-6)
    np.testing.assert_allclose(factors["solarize"](x, rng)[0], np.where(x >= 0.5, 1 - x, x))
    np.testing.assert_allclose(factors["grayscale"](x, rng)[0], np.repeat((x @ np.array([0.299, 0.587, 0.114]))[..., None], 3, -1), atol=1e-6)
    jittered, p = factors["colour_jitter"](x, rng)
    assert set(p) == {"brightness", "contrast", "saturation", "hue"} and np.abs(p["hue"]).max() <= 0.1 and np.ptp(p["hue"]) > 0
    expected = ColorDistortion.jitter(x, *(p[k].astype("float32") for k in ("brightness", "contrast", "saturation", "hue")))
    np.testing.assert_allclose(jittered, keras.ops.convert_to_numpy(expected), atol=1e-6)
    ones = np.ones(6, "float32")
    neutral = ColorDistortion.jitter(x, ones, ones, ones, 0 * ones)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(neutral), x, atol=2e-3)  # the YIQ round trip keeps 3 decimals
    blurred, p = factors["blur"](x, rng)
    assert np.all((p["blur_sigma"] >= 1.0) & (p["blur_sigma"] <= 2.0)) and np.abs(blurred - x).mean() > 0.05


def test_translation_by_one_pixel_shifts_the_columns():
    x = np.random.default_rng(0).uniform(size=(3, 8, 8, 1)).astype("float32")

    rng = np.random.default_rng(0)
    translation = RandomAffine(translation=0.125, rotation=0.0).augmentation_factors(1)["translation"]
    views, p = translation(x, rng)
    assert np.all(np.abs(p["translation_x"]) <= 0.125)
    # an exact one-pixel shift to the right (translation_x = 1/8 of the side), rows unchanged
    from kssl.augment.factors import _affine

    n = len(x)
    shifted = _affine(x, np.ones(n), np.zeros(n), -np.ones(n), np.zeros(n), np.ones(n), np.zeros(n))
    np.testing.assert_allclose(shifted[:, :, 1:], x[:, :, :-1], atol=1e-5)
    np.testing.assert_allclose(shifted[:, :, 0], 0.0)


def test_bad_input_names_what_is_wrong():
    for kwargs, argument in [({"factors": "crop"}, "factors"), ({"factors": []}, "factors"), ({"folds": 1}, "folds"), ({"samples": 5}, "samples")]:
        with pytest.raises(ArgumentError) as info:
            InvarianceEvaluator(**kwargs)
        assert info.value.argument == argument
    with pytest.raises(ArgumentError, match="unknown factor 'colour_jiter'.*Did you mean 'colour_jitter'"):
        InvarianceEvaluator(factors=["colour_jiter"]).check_model(ToyModel(SimCLRAugment()))
    with pytest.raises(KsslError, match="has none \\(augmenter: null\\)"):
        InvarianceEvaluator().check_model(ToyModel(None))
    with pytest.raises(KsslError, match="does not declare them.*AugmentationFactors"):
        InvarianceEvaluator().check_model(ToyModel(keras.layers.Identity()))
    flat = type("Flat", (), {"x_train": np.zeros((20, 4)), "x_test": None})()
    with pytest.raises(KsslError, match="needs images"):
        InvarianceEvaluator().check_data(flat)


def test_a_recipe_with_a_misspelt_factor_fails_validation_with_exit_2(tiny_recipe, write_recipe):
    from kssl.cli import main

    tiny_recipe["eval"] = [{"type": "invariance", "factors": ["colour_jiter"]}]
    tiny_recipe["data"] = {"type": "coloured_digits", "image_size": 8, "limit": 64}
    result = CliRunner().invoke(main, ["validate", str(write_recipe(tiny_recipe))], catch_exceptions=False)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "eval.0" in result.output and "Did you mean 'colour_jitter'" in result.output


def test_colour_jitter_invariance_rises_when_training_jitters_colours(tmp_path):
    """Issue #21's measure: SimCLR on coloured_digits (colour a nuisance), with and without colour jitter."""
    from kssl.training import train

    def run(jitter_probability):
        recipe = {
            "name": f"jitter-{jitter_probability}",
            "seed": 0,
            "data": {"type": "coloured_digits", "label": "digit", "image_size": 8, "batch_size": 64, "limit": 512},
            "augmenter": {
                "type": "simclr",
                "crop_scale": [0.5, 1.0],
                "flip_probability": 0.0,
                "jitter_strength": 1.0,
                "jitter_probability": jitter_probability,
                "grayscale_probability": 0.0,
                "blur_probability": 0.0,
            },
            "encoder": {"type": "cnn", "filters": [16, 32]},
            "pretext": {"type": "simclr", "projection_dim": 16, "projection_hidden_dims": [32], "temperature": 0.2},
            "optimizer": {"type": "adam", "learning_rate": 3.0e-3},
            "train": {"epochs": 10, "log_images": 0, "verbose": 0},
            "eval": [{"type": "invariance", "factors": ["colour_jitter"], "samples": 256, "pixel_baseline": False}],
        }
        run_dir = train(recipe, output_dir=tmp_path)
        assert (run_dir / "invariance.png").stat().st_size > 10_000
        return json.loads((run_dir / "metrics.json").read_text())["metrics"]

    jitter, plain = run(1.0), run(0.0)
    assert jitter["random_init.invariance.colour_jitter"] == plain["random_init.invariance.colour_jitter"]  # the same initial weights
    assert jitter["invariance.colour_jitter"] > plain["invariance.colour_jitter"] + 0.15, (jitter, plain)
    assert jitter["invariance.colour_jitter"] > jitter["random_init.invariance.colour_jitter"], jitter
