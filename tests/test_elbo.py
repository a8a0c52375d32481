"""The elbo evaluator against an exact log-likelihood computed by quadrature over a 1-D latent."""

import keras
import numpy as np
import pytest
from scipy.special import logsumexp

from kssl.data.splits import DataSplits
from kssl.errors import ArgumentError, KsslError
from kssl.eval.elbo import ELBOEvaluator, active_units
from kssl.pretext.vae import VAE


def _flat_vae(likelihood, dim=3, **kwargs):
    keras.utils.set_random_seed(3)
    inputs = keras.Input((dim,))
    encoder = keras.Model(inputs, keras.layers.Dense(6, activation="tanh")(inputs))
    return VAE(encoder, latent_dim=1, decoder_width=8, likelihood=likelihood, **kwargs)


def _exact_log_px(model, x):
    """log p(x) = log integral N(z; 0, 1) p(x | z) dz on a fine grid (the latent is 1-D)."""
    grid = np.linspace(-10.0, 10.0, 8001)
    step = grid[1] - grid[0]
    params = np.asarray(keras.ops.convert_to_numpy(model.decoder(grid[:, None].astype("float32"))), dtype=np.float64)
    log_prior = -0.5 * grid**2 - 0.5 * np.log(2 * np.pi)
    if model.likelihood == "bernoulli":
        log_lik = (x[:, None, :] * -np.logaddexp(0, -params)[None] + (1 - x[:, None, :]) * -np.logaddexp(0, params)[None]).sum(-1)
    else:
        sigma = model.gaussian_scale
        log_lik = (-0.5 * ((x[:, None, :] - params[None]) / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)).sum(-1)
    return logsumexp(log_lik + log_prior[None], axis=1) + np.log(step)


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_bounds_against_the_exact_likelihood(likelihood):
    rng = np.random.default_rng(0)
    if likelihood == "gaussian":
        model = _flat_vae("gaussian", gaussian_scale=0.5)
        x = rng.normal(size=(6, 3)).astype("float32")
    else:
        model = _flat_vae("bernoulli")
        x = (rng.uniform(size=(6, 3)) > 0.5).astype("float32")
    exact = _exact_log_px(model, x)
    data = DataSplits(x, x_test=x)
    scores = ELBOEvaluator(num_samples=2000, importance_samples=20000, batch_size=50000).evaluate(model, data)
    # the ELBO bounds -log p(x) from above; the gap is KL(q || posterior) >= 0
    assert scores["neg_elbo"] >= -exact.mean() - 0.02
    # with many importance samples the IW estimate reaches the exact value (the weights are heavy-tailed
    # here: an untrained encoder gives q = N(m, 1); a few hundred samples can miss by nats)
    assert scores["iw_nll"] == pytest.approx(-exact.mean(), abs=0.03)
    assert scores["iw_nll"] <= scores["neg_elbo"] + 0.02
    per_sample = model.log_likelihood(x, num_samples=20000, batch_size=50000, seed=1)
    np.testing.assert_allclose(per_sample, exact, atol=0.1)
    # neg_elbo is reconstruction + the analytic KL
    assert scores["neg_elbo"] == pytest.approx(scores["reconstruction"] + scores["kl"], rel=1e-6)


def test_one_importance_sample_is_the_elbo_in_expectation():
    model = _flat_vae("gaussian", gaussian_scale=0.5)
    x = np.random.default_rng(1).normal(size=(200, 3)).astype("float32")
    iw1 = -model.log_likelihood(x, num_samples=1, batch_size=256, seed=5).mean()
    elbo = model.elbo_terms(x, num_samples=1, batch_size=256, seed=6)["neg_elbo"].mean()
    assert iw1 == pytest.approx(elbo, rel=0.05)


def test_evaluator_is_reproducible_and_needs_no_labels():
    model = _flat_vae("bernoulli")
    x = (np.random.default_rng(2).uniform(size=(10, 3)) > 0.5).astype("float32")
    evaluator = ELBOEvaluator(num_samples=2, importance_samples=4)
    assert evaluator.requires_labels is False
    first, second = evaluator.evaluate(model, DataSplits(x, x_test=x)), evaluator.evaluate(model, DataSplits(x, x_test=x))
    assert first == second
    assert set(first) == {"neg_elbo", "reconstruction", "kl", "active_units", "iw_nll"}
    assert "iw_nll" not in ELBOEvaluator().evaluate(model, DataSplits(x, x_test=x))
    assert ELBOEvaluator(split="train").evaluate(model, DataSplits(x))["kl"] >= 0


def test_the_random_init_baseline_is_scored_without_the_importance_weighted_bound():
    model = _flat_vae("bernoulli")
    x = (np.random.default_rng(4).uniform(size=(10, 3)) > 0.5).astype("float32")
    data = DataSplits(x, x_test=x)
    evaluator = ELBOEvaluator(num_samples=2, importance_samples=8, batch_size=4, seed=3)
    baseline = evaluator.for_baseline()
    assert baseline.get_config() == {**evaluator.get_config(), "importance_samples": 0}
    full, cheap = evaluator.evaluate(model, data), baseline.evaluate(model, data)
    assert set(full) - set(cheap) == {"iw_nll"}
    assert cheap == {k: full[k] for k in cheap}  # the same draws: the same ELBO
    plain = ELBOEvaluator()
    assert plain.for_baseline() is plain


def test_active_units_counts_dimensions_that_vary():
    rng = np.random.default_rng(0)
    means = np.stack([rng.normal(size=100), np.full(100, 3.0), 0.05 * rng.normal(size=100), 0.5 * rng.normal(size=100)], axis=1)
    assert active_units(means) == 2  # variance ~1 and ~0.25; 0 and ~0.0025 are inactive
    assert active_units(means[:1]) == 0


def test_errors_are_clear():
    model = _flat_vae("bernoulli")
    x = np.zeros((4, 3), "float32")
    with pytest.raises(KsslError, match="no test samples"):
        ELBOEvaluator().evaluate(model, DataSplits(x))
    with pytest.raises(KsslError, match="needs a generative pretext model"):
        ELBOEvaluator().evaluate(object(), DataSplits(x, x_test=x))
    with pytest.raises(KsslError, match="got object. Remove `elbo` from the recipe's eval list or use pretext type vae"):
        ELBOEvaluator().check_model(object())
    assert ELBOEvaluator().check_model(model) is None  # a VAE is accepted
    for kwargs, argument in [({"num_samples": 0}, "num_samples"), ({"importance_samples": -1}, "importance_samples"), ({"split": "val"}, "split")]:
        with pytest.raises(ArgumentError) as info:
            ELBOEvaluator(**kwargs)
        assert info.value.argument == argument
    assert ELBOEvaluator().get_config() == {"num_samples": 1, "importance_samples": 0, "split": "test", "batch_size": 256, "seed": 0}
