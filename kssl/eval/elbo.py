"""Held-out negative ELBO (and an importance-weighted likelihood estimate) of a generative pretext model."""

from __future__ import annotations

import numpy as np

from kssl.checks import check_choice, check_int
from kssl.errors import KsslError
from kssl.eval.evaluator import Evaluator
from kssl.pretext.vae import VAE

SPLITS = ("test", "train")
ACTIVE_UNIT_THRESHOLD = 0.01


class ELBOEvaluator(Evaluator):
    """Score a VAE-like model by its evidence lower bound on held-out data, in nats per sample.

    Returns ``neg_elbo`` (= ``reconstruction`` + ``kl``, averaged over the
    split; an upper bound on the negative log-likelihood), its two parts, and
    ``active_units``: the latent dimensions whose posterior mean varies across
    the data (variance > 0.01, Burda et al., ICLR 2016) — 0 means posterior
    collapse. With ``importance_samples: K > 0`` it adds ``iw_nll``, the
    negative importance-weighted bound of Burda et al. with K samples (tighter
    than ``neg_elbo``; K = 1 equals it in expectation). Labels are not needed.

    Cost: ``iw_nll`` decodes every sample of the split K times, so with K = 64 it
    costs about 64 times the ELBO. The run's random-init baseline is therefore
    scored without it (:meth:`for_baseline`): ``random_init.neg_elbo`` and its parts
    already show how far training moved, and the importance-weighted bound of
    untrained weights would take most of the evaluation time and tell nothing more.
    ``kssl eval`` and :func:`kssl.evaluation.evaluate` on any model still report it.

    The model must be a ``vae`` pretext model (:class:`kssl.pretext.vae.VAE`): the
    scores come from its ``elbo_terms``, ``encode`` and ``log_likelihood``.

    Args:
        num_samples: draws of z per sample for the reconstruction term.
        importance_samples: K for ``iw_nll`` (0: skip it).
        split: ``test`` (held out; default) or ``train``.
        batch_size: samples scored at once.
        seed: seed of the draws of z (the estimate is reproducible).
    """

    name = "elbo"
    requires_labels = False

    def __init__(self, num_samples: int = 1, importance_samples: int = 0, split: str = "test", batch_size: int = 256, seed: int = 0):
        self.num_samples = check_int("num_samples", num_samples, low=1)
        self.importance_samples = check_int("importance_samples", importance_samples, low=0)
        self.split = check_choice("split", split, SPLITS)
        self.batch_size = check_int("batch_size", batch_size, low=1)
        self.seed = check_int("seed", seed, low=0)

    def get_config(self) -> dict:
        return {
            "num_samples": self.num_samples,
            "importance_samples": self.importance_samples,
            "split": self.split,
            "batch_size": self.batch_size,
            "seed": self.seed,
        }

    def for_baseline(self) -> ELBOEvaluator:
        """This evaluator without the importance-weighted bound (see the class docstring)."""
        return ELBOEvaluator(**{**self.get_config(), "importance_samples": 0}) if self.importance_samples else self

    def _data(self, data):
        x = data.x_test if self.split == "test" else data.x_train
        if x is None or len(x) == 0:
            raise KsslError(
                f"evaluator 'elbo' scores the {self.split} split, but the dataset has no {self.split} samples. "
                "Give the dataset a held-out split (e.g. test_fraction: 0.2) or use split: train."
            )
        return x

    def check_model(self, model) -> None:
        """Raise :class:`kssl.KsslError` unless ``model`` is a VAE (the only pretext task with an ELBO)."""
        if not isinstance(model, VAE):
            raise KsslError(
                f"evaluator 'elbo' needs a generative pretext model with an ELBO (such as `vae`), got {type(model).__name__}. "
                "Remove `elbo` from the recipe's eval list or use pretext type vae."
            )

    def evaluate(self, model, data, features=None) -> dict:
        """The ELBO terms of the chosen split (``features`` is unused: the ELBO needs no embedding)."""
        self.check_model(model)
        x = self._data(data)
        terms = model.elbo_terms(x, num_samples=self.num_samples, batch_size=self.batch_size, seed=self.seed)
        scores = {
            "neg_elbo": float(np.mean(terms["neg_elbo"])),
            "reconstruction": float(np.mean(terms["reconstruction"])),
            "kl": float(np.mean(terms["kl"])),
        }
        means = np.asarray(model.encode(x, batch_size=self.batch_size)[0], dtype=np.float64)
        scores["active_units"] = float(active_units(means))
        if self.importance_samples:
            log_px = model.log_likelihood(x, num_samples=self.importance_samples, batch_size=self.batch_size, seed=self.seed)
            scores["iw_nll"] = float(-np.mean(log_px))
        return scores


def active_units(posterior_means, threshold: float = ACTIVE_UNIT_THRESHOLD) -> int:
    """Latent dimensions whose posterior mean has variance above ``threshold`` across samples (Burda et al., ICLR 2016)."""
    means = np.asarray(posterior_means, dtype=np.float64)
    if len(means) < 2:
        return 0
    return int(np.sum(np.var(means, axis=0) > threshold))
