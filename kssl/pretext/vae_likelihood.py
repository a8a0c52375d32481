"""A VAE's per-sample likelihood estimates on numpy arrays: the ELBO's terms and the importance-weighted bound.

Both draw ``z ~ q(z|x)`` with a numpy generator (one ``seed`` gives the same draws on
every backend) and decode the draws in groups of about ``batch_size`` codes. They are
the computations behind :meth:`kssl.pretext.vae.VAE.elbo_terms` and
:meth:`~kssl.pretext.vae.VAE.log_likelihood`, which the ``elbo`` evaluator calls.
"""

from __future__ import annotations

import numpy as np
from keras import ops

from kssl.checks import check_int
from kssl.inference import map_batches
from kssl.losses.gaussian_kl import diagonal_gaussian_log_density, gaussian_kl


def elbo_terms(vae, x, num_samples: int = 1, batch_size: int = 256, seed: int = 0) -> dict:
    """Per-sample ``reconstruction`` (mean over ``num_samples`` draws of z), analytic ``kl`` and ``neg_elbo``, in nats."""
    num_samples = check_int("num_samples", num_samples, low=1)
    rng = np.random.default_rng(seed)

    def terms(xb):
        xb, mean, log_var, z = _posterior_draws(vae, xb, num_samples, rng)
        reconstruction = -_log_px_given_z(vae, xb, z, batch_size).mean(axis=0)
        return np.stack([reconstruction, ops.convert_to_numpy(gaussian_kl(mean, log_var)).astype("float64")], axis=1)

    both = map_batches(terms, x, batch_size, empty_shape=(0, 2))
    reconstruction, kl = both[:, 0], both[:, 1]
    return {"reconstruction": reconstruction, "kl": kl, "neg_elbo": reconstruction + kl}


def log_likelihood(vae, x, num_samples: int = 64, batch_size: int = 256, seed: int = 0) -> np.ndarray:
    """``log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x)`` with ``z_k ~ q(z|x)``, per sample (N,) (Burda et al., ICLR 2016)."""
    num_samples = check_int("num_samples", num_samples, low=1)
    rng = np.random.default_rng(seed)

    def log_px(xb):
        xb, mean, log_var, z = _posterior_draws(vae, xb, num_samples, rng)
        zt = ops.convert_to_tensor(z)
        log_pz = diagonal_gaussian_log_density(zt, ops.zeros_like(zt), ops.zeros_like(zt))  # the N(0, I) prior
        log_qz = diagonal_gaussian_log_density(zt, mean[None], log_var[None])
        log_w = _log_px_given_z(vae, xb, z, batch_size) + ops.convert_to_numpy(log_pz - log_qz).astype("float64")
        peak = log_w.max(axis=0, keepdims=True)
        return peak[0] + np.log(np.mean(np.exp(log_w - peak), axis=0))

    return map_batches(log_px, x, batch_size, empty_shape=(0,))


def _posterior_draws(vae, xb, num_samples: int, rng):
    """(the batch as float32, mean, log_var, ``num_samples`` float32 draws of z, shape (K, n, latent_dim))."""
    xb = np.asarray(xb, dtype="float32")
    mean, log_var = vae._posterior(ops.convert_to_tensor(xb))
    m, sd = ops.convert_to_numpy(mean), np.exp(0.5 * ops.convert_to_numpy(log_var))
    z = (m[None] + sd[None] * rng.standard_normal((num_samples, *m.shape))).astype("float32")
    return xb, mean, log_var, z


def _log_px_given_z(vae, xb, z, rows: int) -> np.ndarray:
    """``log p(xb | z_k)`` for draws ``z`` (K, n, latent_dim) -> (K, n) float64, decoding about ``rows`` codes at a time."""
    n = z.shape[1]

    def log_px(draws):
        g = len(draws)
        decoded = vae.decoder(ops.convert_to_tensor(draws.reshape(g * n, vae.latent_dim)))
        target = ops.convert_to_tensor(np.broadcast_to(xb[None], (g, *xb.shape)).reshape(g * n, *xb.shape[1:]))
        return -ops.convert_to_numpy(vae._reconstruction_nll(target, decoded)).astype("float64").reshape(g, n)

    return map_batches(log_px, z, batch_size=max(1, rows // max(n, 1)))  # draws decoded together
