"""The VAE pretext task and its losses: closed forms, independent references, training, shapes, recipes, errors."""

import json
import math
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from click.testing import CliRunner
from scipy import integrate, stats

from kssl.cli import main
from kssl.errors import ArgumentError
from kssl.losses.bernoulli_nll import BernoulliNLLLoss, bernoulli_nll
from kssl.losses.gaussian_kl import GaussianKLLoss, diagonal_gaussian_log_density, gaussian_kl
from kssl.losses.gaussian_nll import GaussianNLLLoss, gaussian_nll
from kssl.pretext.vae import VAE
from kssl.testing import assert_round_trip, check_pretext, smoke_test_recipe, tiny_encoder, tiny_images


def _np(t):
    return np.asarray(keras.ops.convert_to_numpy(t), dtype=np.float64)


def _binary_images(n=16, size=16, seed=0):
    return (tiny_images(n, size, 1, seed=seed) > 0.5).astype("float32")


# -- losses against closed forms and independent references -------------------------------


@pytest.mark.parametrize(
    "mean, var, expected",
    [
        ([0.0], [1.0], 0.0),  # q = p
        ([1.0], [1.0], 0.5),  # mu^2 / 2
        ([0.0, 2.0], [1.0, 1.0], 2.0),
        ([0.0], [math.e**2], 0.5 * (math.e**2 - 1.0 - 2.0)),  # (sigma^2 - 1 - log sigma^2) / 2
        ([3.0, -1.0, 0.5], [0.25, 4.0, 1.0], 0.5 * (0.25 + 9 - 1 - math.log(0.25)) + 0.5 * (4 + 1 - 1 - math.log(4)) + 0.5 * 0.25),
    ],
)
def test_gaussian_kl_closed_form(mean, var, expected):
    mean = np.array([mean], "float32")
    log_var = np.log(np.array([var], "float32"))
    assert _np(gaussian_kl(mean, log_var))[0] == pytest.approx(expected, rel=1e-5, abs=1e-6)
    assert float(_np(GaussianKLLoss()(mean, log_var))) == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_gaussian_kl_matches_numerical_integration():
    # KL(q || p) = integral q log(q / p), computed by quadrature, independently of the closed form.
    for mu, sigma in [(0.7, 0.3), (-1.5, 2.0), (0.0, 0.05)]:
        q = stats.norm(mu, sigma)
        value, _ = integrate.quad(lambda z, q=q: q.pdf(z) * (q.logpdf(z) - stats.norm.logpdf(z)), mu - 12 * sigma, mu + 12 * sigma, limit=200)
        got = _np(gaussian_kl(np.array([[mu]], "float32"), np.array([[2 * math.log(sigma)]], "float32")))[0]
        assert got == pytest.approx(value, rel=1e-4, abs=1e-5)


def test_bernoulli_nll_matches_scipy_and_the_binarisation_expectation():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=4.0, size=(3, 4, 4, 1)).astype("float32")
    p = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    x = (rng.uniform(size=logits.shape) > 0.5).astype("float32")
    reference = -stats.bernoulli.logpmf(x, p).reshape(3, -1).sum(axis=1)
    np.testing.assert_allclose(_np(bernoulli_nll(x, logits)), reference, rtol=1e-5)
    # Grey values: the expected -log mass of the image binarised with P(on) = x.
    g = rng.uniform(size=logits.shape).astype("float32")
    expected = -(g * np.log(p) + (1 - g) * np.log1p(-p)).reshape(3, -1).sum(axis=1)
    np.testing.assert_allclose(_np(bernoulli_nll(g, logits)), expected, rtol=1e-5)
    assert float(_np(BernoulliNLLLoss()(g, logits))) == pytest.approx(expected.mean(), rel=1e-5)
    # Extreme logits stay finite (stable form).
    assert np.all(np.isfinite(_np(bernoulli_nll(np.ones((1, 2), "float32"), np.array([[-200.0, 200.0]], "float32")))))


def test_gaussian_nll_and_log_density_match_scipy():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 6)).astype("float32")
    mean = rng.normal(size=(4, 6)).astype("float32")
    log_scale = np.float32(-0.7)
    reference = -stats.norm.logpdf(x, mean, math.exp(log_scale)).sum(axis=1)
    np.testing.assert_allclose(_np(gaussian_nll(x, mean, log_scale)), reference, rtol=1e-5)
    assert float(_np(GaussianNLLLoss()(x, (mean, log_scale)))) == pytest.approx(reference.mean(), rel=1e-5)
    log_var = rng.normal(size=(4, 6)).astype("float32")
    expected = [stats.multivariate_normal(mean[i], np.diag(np.exp(log_var[i]))).logpdf(x[i]) for i in range(4)]
    np.testing.assert_allclose(_np(diagonal_gaussian_log_density(x, mean, log_var)), expected, rtol=1e-5)


def test_losses_round_trip():
    for loss in (GaussianKLLoss(), BernoulliNLLLoss(), GaussianNLLLoss()):
        assert_round_trip(loss)


# -- the model -----------------------------------------------------------------------------


def test_vae_contract_fit_embed_round_trip(tmp_path):
    model = check_pretext(VAE, {"latent_dim": 4, "decoder_width": 8}, x=_binary_images(8), tmp_path=tmp_path)
    assert model.embed(_binary_images(8)).shape == (8, 4)


def test_gaussian_dense_vae_on_flat_data_round_trips(tmp_path):
    x = np.random.default_rng(0).normal(size=(8, 12)).astype("float32")
    inputs = keras.Input((12,))
    encoder = keras.Model(inputs, keras.layers.Dense(8, activation="relu")(inputs))
    model = check_pretext(VAE, {"latent_dim": 3, "decoder_width": 16, "likelihood": "gaussian"}, x=x, encoder=encoder, tmp_path=tmp_path)
    assert model.decoder.kind == "dense" and model.log_scale is not None and model.log_scale.trainable
    assert model.decode(np.zeros((2, 3))).shape == (2, 12)
    diagonal = VAE(encoder, latent_dim=3, decoder_width=16, likelihood="gaussian", gaussian_scale="learned_diagonal")
    assert tuple(diagonal.log_scale.shape) == (12,)  # one standard deviation per output element
    fixed = VAE(encoder, latent_dim=3, decoder_width=16, likelihood="gaussian", gaussian_scale=0.5)
    assert fixed.log_scale is None and fixed.get_config()["gaussian_scale"] == 0.5
    # the reconstruction term is -log N(x; decoder(z), 0.5^2) at the evaluator's draws of z (scipy reference)
    terms = fixed.elbo_terms(x, num_samples=1, seed=7)
    mean, log_var = fixed.encode(x)
    z = mean + np.exp(0.5 * log_var) * np.random.default_rng(7).standard_normal((1, *mean.shape))[0]
    expected = -stats.norm.logpdf(x, fixed.decode(z.astype("float32")), 0.5).sum(axis=1)
    np.testing.assert_allclose(terms["reconstruction"], expected, rtol=1e-4)
    np.testing.assert_allclose(terms["kl"], 0.5 * np.sum(np.exp(log_var) + mean**2 - 1 - log_var, axis=1), rtol=1e-4)
    # in batches of 3, each batch draws its z from the same generator in turn; the importance-weighted
    # bound log mean_k p(x|z_k) p(z_k) / q(z_k|x) recomputed with scipy from those draws
    rng, sd, draws = np.random.default_rng(5), np.exp(0.5 * log_var), []
    for s in range(0, len(x), 3):
        draws.append(mean[s : s + 3] + sd[s : s + 3] * rng.standard_normal((4, len(mean[s : s + 3]), 3)))
    z = np.concatenate(draws, axis=1).astype("float32")  # (K=4, N, latent)
    log_w = np.stack(
        [stats.norm.logpdf(x, fixed.decode(z[k]), 0.5).sum(1) + stats.norm.logpdf(z[k]).sum(1) - stats.norm.logpdf(z[k], mean, sd).sum(1) for k in range(4)]
    )
    expected = np.log(np.mean(np.exp(log_w - log_w.max(0)), axis=0)) + log_w.max(0)
    np.testing.assert_allclose(fixed.log_likelihood(x, num_samples=4, batch_size=3, seed=5), expected, rtol=1e-4)


def test_elbo_of_a_tiny_model_decreases():
    from sklearn.datasets import load_digits

    keras.utils.set_random_seed(0)
    x = (load_digits().images[:32, :, :, None] / 16.0).astype("float32")  # real 8x8 digits in [0, 1]
    model = VAE(tiny_encoder((8, 8, 1)), latent_dim=4, decoder_width=8)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = model.elbo_terms(x, num_samples=4, seed=1)["neg_elbo"].mean()
    history = model.fit(x, epochs=8, batch_size=16, verbose=0).history
    after = model.elbo_terms(x, num_samples=4, seed=1)["neg_elbo"].mean()
    assert after < before - 3.0, (before, after)  # nats per image, same draws of z
    assert history["neg_elbo"][-1] < history["neg_elbo"][0]
    # neg_elbo = reconstruction + kl, and loss equals it with beta = 1
    np.testing.assert_allclose(history["neg_elbo"], np.add(history["reconstruction"], history["kl"]), rtol=1e-4)
    np.testing.assert_allclose(history["loss"], history["neg_elbo"], rtol=1e-4)
    # model.evaluate reports a sampled ELBO, not the reconstruction of the posterior mean alone
    scores = model.evaluate(x, batch_size=32, verbose=0, return_dict=True)
    assert scores["kl"] > 0 and scores["neg_elbo"] == pytest.approx(scores["reconstruction"] + scores["kl"], rel=1e-4)


def test_kl_warmup_ramps_beta_and_is_saved(tmp_path):
    x = _binary_images(8)
    model = VAE(tiny_encoder((16, 16, 1)), latent_dim=2, decoder_width=4, beta=0.5, kl_warmup_steps=4)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(x, epochs=6, batch_size=8, verbose=0).history
    np.testing.assert_allclose(history["beta"], [0.125, 0.25, 0.375, 0.5, 0.5, 0.5], rtol=1e-6)
    assert float(_np(model.kl_steps)) == 6.0
    model.save(tmp_path / "vae.keras")
    again = keras.models.load_model(tmp_path / "vae.keras")
    assert float(_np(again.kl_steps)) == 6.0  # a resumed run continues the ramp


def test_encode_decode_sample_shapes():
    x = _binary_images(5)
    model = VAE(tiny_encoder((16, 16, 1)), latent_dim=3, decoder_width=4)
    mean, log_var = model.encode(x, batch_size=2)
    assert mean.shape == log_var.shape == (5, 3) and mean.dtype == np.float32
    images = model.decode(np.zeros((7, 3)), batch_size=3)
    assert images.shape == (7, 16, 16, 1) and images.min() >= 0 and images.max() <= 1  # Bernoulli means
    assert model.sample(4, seed=0).shape == (4, 16, 16, 1)
    np.testing.assert_array_equal(model.sample(4, seed=0), model.sample(4, seed=0))
    assert model.reconstruct(x).shape == x.shape
    assert model.sample(0).shape == (0, 16, 16, 1)
    empty = x[:0]
    assert [a.shape for a in model.encode(empty)] == [(0, 3), (0, 3)]
    assert {k: v.shape for k, v in model.elbo_terms(empty).items()} == {"reconstruction": (0,), "kl": (0,), "neg_elbo": (0,)}
    assert model.log_likelihood(empty, num_samples=2).shape == (0,)
    np.testing.assert_allclose(model.encode(x, batch_size=2)[0], model.encode(x)[0], rtol=1e-5, atol=1e-6)  # batches of 2 = one of 5
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        model.decode(np.zeros((2, 5)))
    # odd sizes still come back at the input's size (28x28: two upsamplings from 7x7)
    odd = VAE(tiny_encoder((28, 20, 3)), latent_dim=2, decoder_width=4)
    assert odd.sample(2).shape == (2, 28, 20, 3)


def test_write_artifacts_writes_pngs_and_tensorboard_images(tmp_path):
    from PIL import Image

    from kssl.data.splits import DataSplits

    x = _binary_images(12)
    model = VAE(tiny_encoder((16, 16, 1)), latent_dim=2, decoder_width=4)
    written = model.write_artifacts(tmp_path, DataSplits(x[:8], x_test=x[8:]), n=4)
    assert [p.name for p in written] == ["reconstructions.png", "samples.png"]
    with Image.open(tmp_path / "reconstructions.png") as im:
        assert im.mode == "L" and im.size[1] == 2 * 64 + 3 * 2  # one row of originals, one of reconstructions, 4x upscaled
    assert list((tmp_path / "logs" / "images").glob("events.out.tfevents.*"))


# -- recipes and bad input -----------------------------------------------------------------

# The zoo recipe's label budgets (up to 50 per class) shrink with the data.
BUDGETS = ["eval.3.shots=[1]", "eval.3.repeats=1", "eval.4.labels_per_class=[1]", "eval.4.repeats=1", "eval.4.steps=2"]
SMALL = ["data.limit=96", "data.image_size=16", "encoder.filters=[8,16]", "encoder.dense_units=16", "pretext.decoder_width=8", "eval.0.importance_samples=2"]
SMALL += BUDGETS


def test_zoo_recipe_trains_one_step_and_writes_pictures(tmp_path):
    run_dir, summary = smoke_test_recipe("vae", SMALL, output_dir=tmp_path, steps=2)
    metrics = summary["metrics"]
    for key in ("neg_elbo", "reconstruction", "kl", "iw_nll", "active_units", "knn_accuracy", "linear_probe_accuracy"):
        assert key in metrics and (f"random_init.{key}" in metrics) == (key != "iw_nll"), key  # the baseline skips the costly bound
    assert metrics["neg_elbo"] == pytest.approx(metrics["reconstruction"] + metrics["kl"], rel=1e-5)
    assert (run_dir / "reconstructions.png").is_file() and (run_dir / "samples.png").is_file()


def test_build_gives_a_compiled_model_that_fits_raw_arrays():
    import kssl

    model = kssl.build("vae", SMALL)
    x = _binary_images(8).repeat(1, axis=0)
    assert model.compiled and model.decoder.kind == "conv"
    model.fit(x, epochs=1, batch_size=8, verbose=0)
    assert model.sample(2).shape == (2, 16, 16, 1)


@pytest.mark.parametrize(
    "setting, fragments",
    [
        ("pretext.beta=-1", ["pretext.beta", ">= 0", "-1"]),
        ("pretext.latent_dim=0", ["pretext.latent_dim", ">= 1", "0"]),
        ("pretext.likelihood=poisson", ["pretext.likelihood", "'bernoulli'", "'gaussian'", "'poisson'"]),
        ("pretext.gaussian_scale=big", ["pretext.gaussian_scale", "learned", "'big'"]),
        ("pretext.kl_warmup_steps=-3", ["pretext.kl_warmup_steps", "-3"]),
        ("pretext.decoder_type=deconv", ["pretext.decoder_type", "'conv'"]),
        ("eval.0.importance_samples=-1", ["eval.0.importance_samples", "-1"]),
    ],
)
def test_bad_vae_settings_exit_2_with_a_clear_message(setting, fragments):
    budgets = [arg for b in BUDGETS for arg in ("--set", b)]
    result = CliRunner().invoke(main, ["validate", "vae", "--set", "data.limit=32", *budgets, "--set", setting], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    text = result.output.replace("\n", " ")
    assert "Traceback" not in text
    for fragment in fragments:
        assert fragment in text, text


def test_an_augmenter_is_refused():
    with pytest.raises(ArgumentError) as info:
        VAE(tiny_encoder((16, 16, 1)), keras.layers.Identity())
    assert info.value.argument == "augmenter" and "does not use an augmenter" in info.value.message


def test_an_augmenter_section_is_refused(tmp_path):
    recipe = tmp_path / "vae_aug.yaml"
    recipe.write_text(
        textwrap.dedent("""
        name: vae-aug
        data: {type: digits, image_size: 16, limit: 32}
        augmenter: {type: simclr}
        encoder: {type: mlp, hidden_units: [8]}
        pretext: {type: vae}
    """)
    )
    result = CliRunner().invoke(main, ["validate", str(recipe)], catch_exceptions=False)
    assert result.exit_code == 2 and "augmenter" in result.output and "does not use an augmenter" in result.output


@pytest.mark.slow
def test_vae_trains_and_round_trips_on_jax(tmp_path):
    pytest.importorskip("jax")
    script = textwrap.dedent(f"""
        import json, numpy as np, keras
        from kssl.pretext.vae import VAE
        from kssl.testing import tiny_encoder, tiny_images
        x = (tiny_images(8, 8, 1) > 0.5).astype("float32")
        keras.utils.set_random_seed(0)
        m = VAE(tiny_encoder((8, 8, 1), 4), latent_dim=2, decoder_width=4, likelihood="gaussian", kl_warmup_steps=2)
        m.compile(optimizer=keras.optimizers.Adam(1e-2))
        h = m.fit(x, epochs=3, batch_size=8, verbose=0).history
        m.save({str(tmp_path / "jax.keras")!r})
        again = keras.models.load_model({str(tmp_path / "jax.keras")!r})
        same = bool(np.allclose(again.encode(x)[0], m.encode(x)[0], atol=1e-5))
        print(json.dumps({{"backend": keras.backend.backend(), "loss": h["loss"], "beta": h["beta"],
                          "steps": float(m.kl_steps.value), "same": same, "shape": list(m.sample(3).shape)}}))
    """)
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3", "KSSL_DISABLE_PLUGINS": "1"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["backend"] == "jax" and result["same"] and result["shape"] == [3, 8, 8, 1]
    assert result["steps"] == 3.0 and result["beta"] == [0.5, 1.0, 1.0]
    assert all(math.isfinite(v) for v in result["loss"])
