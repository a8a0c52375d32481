"""VAE: the variational autoencoder (Kingma & Welling, ICLR 2014), a generative pretext task."""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from kssl.checks import check_choice, check_int, check_number
from kssl.errors import ArgumentError
from kssl.heads.gaussian_latent import GaussianLatent
from kssl.heads.vae_decoder import VAEDecoder
from kssl.inference import map_batches
from kssl.losses.bernoulli_nll import BernoulliNLLLoss, bernoulli_nll
from kssl.losses.cross_replica import with_model_losses
from kssl.losses.gaussian_kl import GaussianKLLoss, gaussian_kl
from kssl.losses.gaussian_nll import GaussianNLLLoss, gaussian_nll
from kssl.pretext import vae_likelihood
from kssl.pretext.pretext_task import PretextTask

LIKELIHOODS = ("bernoulli", "gaussian")
LEARNED_SCALES = ("learned", "learned_diagonal")


@keras.saving.register_keras_serializable(package="kssl")
class VAE(PretextTask):
    """Encoder -> diagonal Gaussian ``q(z|x)`` -> reparameterised ``z`` -> decoder ``p(x|z)``, prior N(0, I).

    ``fit(x)`` takes raw unlabeled samples and minimises, per sample in nats,
    ``reconstruction + beta_t * KL(q(z|x) || N(0, I))``, the negative ELBO of
    Kingma & Welling (arXiv:1312.6114) when ``beta_t = 1`` (beta-VAE of Higgins
    et al., ICLR 2017, otherwise). ``beta_t`` rises linearly from ``beta /
    kl_warmup_steps`` to ``beta`` over the first ``kl_warmup_steps`` training
    steps (Bowman et al., CoNLL 2016; Sønderby et al., NeurIPS 2016), counted in a
    saved weight so a resumed run continues the ramp. ``fit`` logs
    ``reconstruction``, ``kl``, ``neg_elbo`` (= reconstruction + KL, whatever
    beta is) and ``beta``.

    Likelihoods: ``bernoulli`` (decoder outputs logits; for grey values in [0, 1]
    the reconstruction term is the binary cross-entropy with soft targets, i.e.
    the expected negative log-mass of the image binarised at random with each
    pixel on with probability equal to its value, so every number is in nats per
    binarised image), or ``gaussian`` (decoder outputs means; standard deviation
    one learned scalar shared by all outputs with ``gaussian_scale: learned``
    (isotropic noise, as in probabilistic PCA), one learned value per output
    element with ``learned_diagonal`` (as in factor analysis), or a fixed
    positive number; a density, so its nats depend on the data's
    scale and can be negative).

    ``call(x)`` returns ``(decoded, mean, log_var)``: ``decoded`` are the
    likelihood's parameters (logits or means) at a sampled ``z`` when training
    and at the posterior mean otherwise. For users: ``encode(x)`` -> (means,
    log-variances); ``decode(z)`` and ``sample(n)`` -> data-space images
    (Bernoulli probabilities or Gaussian means); ``reconstruct(x)``;
    ``embed(x)`` (the latent means, used by kssl's evaluators);
    ``elbo_terms(x)`` and ``log_likelihood(x, num_samples)`` (used by the
    ``elbo`` evaluator). All of these take numpy arrays of any length and
    return numpy arrays.

    Args:
        encoder: ``keras.Model`` from samples to (N, D) features.
        augmenter: not used; a VAE reconstructs its input (must be None).
        input_shape: shape of one sample (filled in by kssl from the dataset;
            else taken from the encoder's input).
        latent_dim: dimension of ``z``.
        decoder_width: channels of the conv decoder's full-resolution stage
            (doubled per stage toward the latent), or the dense decoder's hidden units.
        decoder_type: ``auto`` (conv for images, dense otherwise), ``conv`` or ``dense``.
        likelihood: ``bernoulli`` or ``gaussian``.
        gaussian_scale: ``learned`` (one scalar), ``learned_diagonal`` (one per
            output element) or a fixed standard deviation > 0 (gaussian only).
        beta: weight of the KL term (>= 0; 1 trains the ELBO).
        kl_warmup_steps: training steps of linear KL warm-up (0: none).
    """

    uses_augmenter = False  # a VAE reconstructs its input

    def __init__(
        self,
        encoder,
        augmenter=None,
        input_shape=None,
        latent_dim: int = 16,
        decoder_width: int = 32,
        decoder_type: str = "auto",
        likelihood: str = "bernoulli",
        gaussian_scale="learned",
        beta: float = 1.0,
        kl_warmup_steps: int = 0,
        **kwargs,
    ):
        super().__init__(encoder, augmenter, **kwargs)
        self.latent_dim = check_int("latent_dim", latent_dim, low=1)
        self.likelihood = check_choice("likelihood", likelihood, LIKELIHOODS)
        if gaussian_scale not in LEARNED_SCALES:
            if isinstance(gaussian_scale, str) or gaussian_scale is None:
                raise ArgumentError(
                    "gaussian_scale",
                    f"expected 'learned', 'learned_diagonal' or a positive number (a fixed standard deviation), got {gaussian_scale!r}.",
                )
            gaussian_scale = check_number("gaussian_scale", gaussian_scale, low=0.0, low_inclusive=False)
        self.gaussian_scale = gaussian_scale
        self.beta = check_number("beta", beta, low=0.0)
        self.kl_warmup_steps = check_int("kl_warmup_steps", kl_warmup_steps, low=0)
        self.latent = GaussianLatent(self.latent_dim, name="latent")
        # The decoder checks input_shape, decoder_width and decoder_type; the VAE keeps its checked values.
        sample_shape = _encoder_input_shape(encoder) if input_shape is None else input_shape
        self.decoder = VAEDecoder(sample_shape, decoder_width, decoder_type, name="decoder")
        self.input_shape, self.decoder_width, self.decoder_type = self.decoder.target_shape, self.decoder.width, self.decoder.decoder_type
        self.seed_generator = keras.random.SeedGenerator(name="sampling_seed")
        self.kl_steps = self.add_weight(shape=(), initializer="zeros", dtype="float32", trainable=False, aggregation="only_first_replica", name="kl_steps")
        if self.likelihood == "gaussian" and self.gaussian_scale in LEARNED_SCALES:
            shape = () if self.gaussian_scale == "learned" else tuple(self.input_shape)
            self.log_scale = self.add_weight(shape=shape, initializer="zeros", dtype="float32", trainable=True, name="log_scale")
        else:
            self.log_scale = None
        self.reconstruction_loss = BernoulliNLLLoss() if self.likelihood == "bernoulli" else GaussianNLLLoss()
        self.kl_loss = GaussianKLLoss()
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.neg_elbo_tracker = keras.metrics.Mean(name="neg_elbo")
        self.beta_tracker = keras.metrics.Mean(name="beta")

    # -- training --------------------------------------------------------------
    def call(self, x, training=False):
        mean, log_var = self._posterior(x, training=training)
        z = self._reparameterise(mean, log_var) if training else mean
        return self.decoder(z), mean, log_var

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        decoded, mean, log_var = y_pred
        if not training:  # call() decoded the posterior mean; the ELBO needs a sample from q(z|x)
            decoded = self.decoder(self._reparameterise(mean, log_var))
        target = x[0] if isinstance(x, (tuple, list)) else x
        reconstruction = self.reconstruction_loss(target, self._likelihood_params(decoded))
        kl = self.kl_loss(mean, log_var)
        beta = self._current_beta()
        if training and self.kl_warmup_steps:
            self.kl_steps.assign_add(ops.ones((), dtype="float32"))
        loss = reconstruction + ops.cast(beta, reconstruction.dtype) * kl
        self._track(target, decoded, mean, log_var, beta)
        return with_model_losses(self, loss)

    def _track(self, target, decoded, mean, log_var, beta):
        rec = self._reconstruction_nll(target, decoded)
        kl = gaussian_kl(mean, log_var)
        self.reconstruction_tracker.update_state(rec)
        self.kl_tracker.update_state(kl)
        self.neg_elbo_tracker.update_state(rec + kl)
        self.beta_tracker.update_state(beta)

    # -- the model's pieces, on tensors --------------------------------------
    def _posterior(self, x, training=False):
        features = self.encoder(x, training=training)
        mean, log_var = self.latent(features)
        return ops.cast(mean, "float32"), ops.cast(log_var, "float32")

    def _reparameterise(self, mean, log_var):
        eps = keras.random.normal(ops.shape(mean), seed=self.seed_generator, dtype="float32")
        return mean + ops.exp(0.5 * log_var) * eps

    def _current_beta(self):
        if not self.kl_warmup_steps:
            return ops.convert_to_tensor(self.beta, dtype="float32")
        ramp = ops.minimum(1.0, (ops.convert_to_tensor(self.kl_steps, dtype="float32") + 1.0) / float(self.kl_warmup_steps))
        return self.beta * ramp

    def _scale_param(self):
        if self.log_scale is not None:
            return ops.convert_to_tensor(self.log_scale, dtype="float32")
        return ops.convert_to_tensor(math.log(self.gaussian_scale), dtype="float32")

    def _likelihood_params(self, decoded):
        if self.likelihood == "bernoulli":
            return decoded
        return (decoded, self._scale_param())

    def _reconstruction_nll(self, target, decoded):
        """Per-sample ``-log p(x | z)`` in nats, shape (N,)."""
        if self.likelihood == "bernoulli":
            return bernoulli_nll(target, decoded)
        return gaussian_nll(target, decoded, self._scale_param())

    def _data_space(self, decoded):
        decoded = ops.cast(decoded, "float32")
        return ops.sigmoid(decoded) if self.likelihood == "bernoulli" else decoded

    # -- what users call, on numpy arrays ------------------------------------
    def encode(self, x, batch_size: int = 256):
        """Posterior means and log-variances of ``x``: two float32 arrays (N, latent_dim)."""
        self._ensure_built()
        both = map_batches(lambda b: ops.concatenate(self._posterior(ops.convert_to_tensor(b)), axis=-1), x, batch_size, empty_shape=(0, 2 * self.latent_dim))
        return both[:, : self.latent_dim], both[:, self.latent_dim :]

    def embed(self, x, batch_size: int = 256):
        """Features for evaluators: the posterior means (N, latent_dim)."""
        return self.encode(x, batch_size=batch_size)[0]

    def decode(self, z, batch_size: int = 256):
        """Data-space outputs for latent codes ``z`` (N, latent_dim): Bernoulli probabilities or Gaussian means."""
        z = np.asarray(z, dtype="float32")
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"decode: expected latent codes of shape (N, {self.latent_dim}), got {z.shape}.")
        return map_batches(lambda b: self._data_space(self.decoder(ops.convert_to_tensor(b))), z, batch_size, empty_shape=(0, *self.input_shape))

    def sample(self, n: int, seed: int | None = None, batch_size: int = 256):
        """``n`` samples decoded from the prior N(0, I) (the likelihood's means, not noisy draws)."""
        n = check_int("n", n, low=0)
        z = np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype("float32")
        return self.decode(z, batch_size=batch_size)

    def reconstruct(self, x, batch_size: int = 256):
        """Decode the posterior means of ``x``: data-space reconstructions, shaped like ``x``."""
        return self.decode(self.encode(x, batch_size=batch_size)[0], batch_size=batch_size)

    def elbo_terms(self, x, num_samples: int = 1, batch_size: int = 256, seed: int = 0):
        """Per-sample ``reconstruction`` (mean over ``num_samples`` draws of ``z``) and analytic ``kl``, in nats.

        Returns ``{"reconstruction": (N,), "kl": (N,), "neg_elbo": (N,)}``; ``neg_elbo``
        upper-bounds ``-log p(x)`` (see the class docstring for what that means for
        the bernoulli likelihood on grey values). ``batch_size`` bounds the rows the
        decoder sees at once (samples x draws of z).
        """
        self._ensure_built()
        return vae_likelihood.elbo_terms(self, x, num_samples=num_samples, batch_size=batch_size, seed=seed)

    def log_likelihood(self, x, num_samples: int = 64, batch_size: int = 256, seed: int = 0):
        """Importance-weighted estimate of ``log p(x)`` per sample (N,), in nats (Burda et al., ICLR 2016).

        ``log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x)`` with ``z_k ~ q(z|x)``: a
        stochastic lower bound whose expectation rises to ``log p(x)`` as K grows
        (K = 1 is the ELBO in expectation).
        """
        self._ensure_built()
        return vae_likelihood.log_likelihood(self, x, num_samples=num_samples, batch_size=batch_size, seed=seed)

    def _ensure_built(self):
        if not self.built:
            self.build((None, *self.input_shape))

    # -- run-directory pictures ----------------------------------------------
    def write_artifacts(self, run_dir, data=None, n: int = 32, seed: int = 0):
        """``reconstructions.png`` (rows of test images, each followed by a row of their
        reconstructions), ``samples.png`` (64 decodes of prior samples) and the same
        grids in TensorBoard (``logs/images``); returns the two PNG paths. Nothing for
        non-image data (or no ``data``)."""
        from pathlib import Path

        from kssl.viz import is_image_batch, log_images, save_image_grid

        if data is None:
            return []
        x = data.x_test if getattr(data, "x_test", None) is not None and len(data.x_test) else data.x_train
        x = np.asarray(x[:n], dtype="float32")
        if not is_image_batch(x):
            return []
        ncols = min(8, len(x))
        recon = self.reconstruct(x)
        pairs = np.concatenate([part for s in range(0, len(x), ncols) for part in (x[s : s + ncols], recon[s : s + ncols])], axis=0)
        scale = max(1, 64 // max(x.shape[1], x.shape[2]))  # at least ~64 pixels per image
        run_dir, written = Path(run_dir), []
        for name, tag, images in (("reconstructions", "reconstructions", pairs), ("samples", "prior_samples", self.sample(64, seed=seed))):
            written.append(save_image_grid(images, run_dir / f"{name}.png", ncols=ncols, scale=scale))
            log_images(run_dir / "logs" / "images", f"vae/{tag}", images, step=0, ncols=ncols, scale=scale)
        return written

    # -- serialisation -------------------------------------------------------
    def get_config(self):
        return {
            **super().get_config(),
            "input_shape": list(self.input_shape),
            "latent_dim": self.latent_dim,
            "decoder_width": self.decoder_width,
            "decoder_type": self.decoder_type,
            "likelihood": self.likelihood,
            "gaussian_scale": self.gaussian_scale,
            "beta": self.beta,
            "kl_warmup_steps": self.kl_warmup_steps,
        }


def _encoder_input_shape(encoder):
    try:
        return tuple(encoder.inputs[0].shape[1:])
    except (AttributeError, IndexError, TypeError, ValueError):
        raise ArgumentError(
            "input_shape",
            "could not read the input shape from the encoder (not a functional model); pass input_shape=(H, W, C) or (D,).",
        ) from None
