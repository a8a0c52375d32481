"""How far each augmentation factor, applied alone, moves an encoder's features, and what a linear probe recovers of it."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from kssl.augment.factors import AugmentationFactors
from kssl.checks import check_bool, check_int
from kssl.errors import ArgumentError, KsslError, did_you_mean
from kssl.eval.evaluator import Evaluator
from kssl.eval.knn import unit_rows

PLOT = "invariance.png"


def invariance_score(f_x, f_t, f_other) -> float:
    """``1 - mean ||f(x) - f(t(x))|| / mean ||f(x) - f(x')||`` on L2-normalised rows.

    ``f_x``, ``f_t``, ``f_other``: (N, D) features of the images, of their transformed views and of
    other images (row i of ``f_other`` a different image than row i of ``f_x``). 1: the transform
    leaves the features unchanged; 0: it moves them as far as swapping the image for another does
    (negative: farther). A collapsed encoder (every image the same features) scores 1.
    """
    f_x, f_t, f_other = (unit_rows(f) for f in (f_x, f_t, f_other))
    between = float(np.mean(np.linalg.norm(f_x - f_other, axis=1)))
    moved = float(np.mean(np.linalg.norm(f_x - f_t, axis=1)))
    return 1.0 if between < 1e-9 else 1.0 - moved / between


def derangement(n: int, rng) -> np.ndarray:
    """A permutation with no fixed point (index i -> another image), for ``n`` >= 2."""
    order = rng.permutation(n)
    partner = np.empty(n, dtype=int)
    partner[order] = np.roll(order, -1)
    return partner


def probe_score(features, target, folds: int, seed: int, binary: bool) -> float:
    """Cross-validated accuracy (``binary``: logistic regression) or R^2 (ridge, alpha chosen by inner CV) of a linear probe."""
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if binary:
        probe, cv, scoring = LogisticRegression(max_iter=2000), StratifiedKFold(folds, shuffle=True, random_state=seed), "accuracy"
    else:
        probe, cv, scoring = RidgeCV(alphas=np.logspace(-3, 4, 8)), KFold(folds, shuffle=True, random_state=seed), "r2"
    return float(np.mean(cross_val_score(make_pipeline(StandardScaler(), probe), features, target, cv=cv, scoring=scoring)))


class InvarianceEvaluator(Evaluator):
    """Per augmentation factor (crop, flip, colour jitter, ...): the invariance score and a factor probe.

    Each factor the recipe's augmenter declares (:class:`kssl.augment.factors.AugmentationFactors`)
    is applied ALONE, with parameters drawn in the augmenter's ranges (its probabilities are
    ignored), to ``samples`` held-out images x (test split; the training split for unlabeled data):

    - ``invariance.<factor>`` = :func:`invariance_score`: 1 - mean ||f(x) - f(t(x))|| / mean ||f(x) - f(x')||
      with x' another image, features L2-normalised. 1 = invariant, 0 = the factor moves the
      features as far as a different image does.
    - the probes read the features as they are (standardised, not L2-normalised), as ``linear_probe`` does.
    - ``factor_probe.<parameter>``: what the features kept of the factor. For a factor with
      parameters (``crop_area``, ``crop_x``, ``crop_y``, ``brightness``, ``contrast``, ``saturation``,
      ``hue``, ``blur_sigma``, ``translation_x``, ...) the cross-validated R^2 of a ridge regression
      from f(t(x)) to the parameter (0: nothing kept; can be negative). For an on/off factor
      (``flip``, ``grayscale``, ``solarize``) the cross-validated accuracy of a logistic regression
      telling f(t(x)) from f(x) over two disjoint halves of the images (0.5: chance).
    - with ``pixel_baseline``: ``pixels.invariance.<factor>``, the score of the raw pixels (trained model only).

    The run scores the random-init encoder too (``random_init.*``); :meth:`write_artifacts` draws
    both as bar charts (``invariance.png``). Views are seeded per factor: both models see the same ones.

    Args:
        factors: factor names to measure (None: all the augmenter's), e.g. ``[colour_jitter, crop]``.
        samples: held-out images used (at most; >= 2 * folds).
        folds: cross-validation folds of the probes (>= 2).
        pixel_baseline: also score raw pixels as a representation.
        seed: seed of the image subset, the partners x' and the factors' parameters.
    """

    name = "invariance"
    requires_labels = False

    def __init__(self, factors=None, samples: int = 512, folds: int = 5, pixel_baseline: bool = True, seed: int = 0):
        if factors is not None:
            if isinstance(factors, str) or not isinstance(factors, (list, tuple)) or not all(isinstance(f, str) for f in factors) or not factors:
                raise ArgumentError("factors", f"expected a non-empty list of factor names, e.g. [colour_jitter, crop], or null for all; got {factors!r}.")
            factors = list(factors)
        self.factors = factors
        self.folds = check_int("folds", folds, low=2, high=50)
        self.samples = check_int("samples", samples, low=2 * self.folds)
        self.pixel_baseline = check_bool("pixel_baseline", pixel_baseline)
        self.seed = check_int("seed", seed, low=0)
        self._results: dict = {}  # (encoder weights' digest, id(images), pixel_baseline) -> scores: each model is scored once

    def get_config(self) -> dict:
        return {"factors": self.factors, "samples": self.samples, "folds": self.folds, "pixel_baseline": self.pixel_baseline, "seed": self.seed}

    def for_baseline(self) -> Evaluator:
        baseline = InvarianceEvaluator(self.factors, self.samples, self.folds, pixel_baseline=False, seed=self.seed)
        baseline._results = self._results  # write_artifacts scores the random init first: the run's own pass reuses it
        return baseline

    # -- checks (before training) ---------------------------------------------------
    def chosen_factors(self, augmenter, channels: int) -> dict:
        """The augmenter's factors for ``channels``-channel images, restricted to ``factors``; KsslError when there are none."""
        if augmenter is None:
            raise KsslError(
                "evaluator 'invariance' measures the factors of the recipe's augmenter, but the recipe has none (augmenter: null). "
                "Add an augmenter section (e.g. augmenter: {type: simclr}) or remove this evaluator from `eval`."
            )
        if not isinstance(augmenter, AugmentationFactors):
            raise KsslError(
                f"evaluator 'invariance' cannot split the augmenter {type(augmenter).__module__}.{type(augmenter).__name__} into its factors: "
                "it does not declare them. kssl's `simclr` and `affine` augmenters do; a plugin's augmenter opts in by inheriting "
                "kssl.augment.factors.AugmentationFactors and implementing augmentation_factors(channels) (see docs/augmentation.md)."
            )
        available = augmenter.augmentation_factors(channels)
        for name in self.factors or ():
            if name not in available:
                listed = ", ".join(available) or "none"
                raise ArgumentError("factors", f"unknown factor {name!r}; augmenter {type(augmenter).__name__} has {listed}.{did_you_mean(name, available)}")
        chosen = {k: v for k, v in available.items() if self.factors is None or k in self.factors}
        if not chosen:
            raise KsslError(f"evaluator 'invariance': augmenter {type(augmenter).__name__} has no factor for {channels}-channel images: nothing to measure.")
        return chosen

    def check_model(self, model) -> None:
        self.chosen_factors(model.augmenter, model.encoder.input_shape[-1] if len(model.encoder.input_shape) == 4 else 0)

    def check_data(self, data) -> None:
        x = data.x_test if data.x_test is not None else data.x_train
        if np.ndim(x) != 4:
            raise KsslError(f"evaluator 'invariance' measures image augmentations and needs images (N, H, W, C), got data of shape {np.shape(x)}.")
        if len(x) < 2 * self.folds:
            raise KsslError(f"evaluator 'invariance' needs at least {2 * self.folds} images (2 per probe fold), got {len(x)}. Use more data or fewer folds.")

    # -- scoring ----------------------------------------------------------------------
    def images(self, data) -> np.ndarray:
        """The ``samples`` images scored: a seeded subset of the test split (the training split when there is none)."""
        x = data.x_test if data.x_test is not None else data.x_train
        if len(x) <= self.samples:
            return np.asarray(x, np.float32)
        keep = np.sort(np.random.default_rng(self.seed).choice(len(x), self.samples, replace=False))
        return np.asarray(x[keep], np.float32)

    def _rng(self, factor: str):
        return np.random.default_rng([self.seed, zlib.crc32(factor.encode())])

    def score(self, embed, x, factors: dict, probes: bool = True) -> dict:
        """``{invariance.<factor>: ..., factor_probe.<parameter>: ...}`` for the representation ``embed`` (images -> (N, D))."""
        f_x = embed(x)  # raw features for the probes (a linear head sees their norm too); invariance_score normalises
        partner = derangement(len(x), np.random.default_rng(self.seed))
        scores = {}
        for name, factor in factors.items():
            rng = self._rng(name)
            views, params = factor(x, rng)
            f_t = embed(views)
            scores[f"invariance.{name}"] = invariance_score(f_x, f_t, f_x[partner])
            if not probes:
                continue
            if not params:  # an on/off factor: can a probe tell the views (one half) from originals (the other half)?
                shown = np.zeros(len(x), bool)
                shown[rng.permutation(len(x))[: len(x) // 2]] = True
                scores[f"factor_probe.{name}"] = probe_score(np.where(shown[:, None], f_t, f_x), shown.astype(int), self.folds, self.seed, True)
            for key, values in params.items():
                if np.ptp(values) > 0:  # a fixed parameter (e.g. crop_scale [1, 1]) has nothing to recover
                    scores[f"factor_probe.{key}"] = probe_score(f_t, np.asarray(values, np.float64), self.folds, self.seed, False)
        return scores

    def _key(self, model, data) -> tuple:
        """The same weights and augmenter on the same images give the same scores (a run loads its random init twice)."""
        import hashlib

        digest = hashlib.sha1()
        for weight in model.encoder.get_weights():
            digest.update(np.ascontiguousarray(weight).tobytes())
        augmenter = None if model.augmenter is None else (type(model.augmenter).__name__, repr(model.augmenter.get_config()))
        return digest.hexdigest(), augmenter, id(data.x_test if data.x_test is not None else data.x_train), self.pixel_baseline

    def evaluate(self, model, data, features=None) -> dict:
        from kssl.progress import say

        key = self._key(model, data)
        if key in self._results:
            return dict(self._results[key])
        x = self.images(data)
        factors = self.chosen_factors(model.augmenter, x.shape[-1])
        cached = features is not None and data.x_test is not None and len(x) == len(data.x_test)

        def embed(images):
            if cached and images is x:
                return self.features_of(features, model, data.x_test)
            return np.asarray(model.embed(images), np.float32).reshape(len(images), -1)

        say(f"invariance: {len(factors)} factor(s) on {len(x)} images: {', '.join(factors)}")
        scores = self.score(embed, x, factors)
        if self.pixel_baseline:
            pixels = self.score(lambda images: np.asarray(images, np.float32).reshape(len(images), -1), x, factors, probes=False)
            scores.update({f"pixels.{k}": v for k, v in pixels.items()})
        self._results[key] = dict(scores)
        return scores

    def write_artifacts(self, run_dir, model, data, features=None) -> list:
        """``invariance.png``: trained vs random-init bars (invariance per factor; probe score per parameter)."""
        from kssl.evaluation import INIT_MODEL
        from kssl.saving import load_model

        run_dir = Path(run_dir)
        series = {"trained": self.evaluate(model, data, features)}
        if (run_dir / INIT_MODEL).is_file():
            series["random init"] = self.for_baseline().evaluate(load_model(run_dir / INIT_MODEL, compile=False), data)
        return [plot_invariance(series, run_dir / PLOT)]


def plot_invariance(series: dict, path) -> Path:
    """Two bar charts into a PNG: ``invariance.*`` per factor and ``factor_probe.*`` per parameter, one bar per series."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    first = next(iter(series.values()))
    panels = [(p, [k for k in first if k.startswith(p)]) for p in ("invariance.", "factor_probe.")]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), dpi=110)
    width = 0.8 / len(series)
    for ax, (prefix, keys) in zip(axes, panels):
        at = np.arange(len(keys))
        for i, (label, scores) in enumerate(series.items()):
            ax.bar(at + (i - (len(series) - 1) / 2) * width, [scores.get(k, np.nan) for k in keys], width, label=label)
        ax.set_xticks(at, [k[len(prefix) :] for k in keys], rotation=35, ha="right")
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.grid(True, axis="y", alpha=0.3)
    axes[0].set_title("invariance (1 = invariant, 0 = as far as another image)")
    axes[1].set_title("factor probe (R^2; accuracy for on/off factors)")
    axes[0].legend()
    fig.tight_layout()
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png")
    plt.close(fig)
    tmp.replace(path)
    return path
