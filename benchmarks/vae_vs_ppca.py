"""Held-out likelihood of kssl's VAE against probabilistic PCA (and factor analysis) with the same latent size, on the digits.

    python benchmarks/vae_vs_ppca.py                     # 8x8 digits, latent 16, both noise models, seeds 0 1 2
    python benchmarks/vae_vs_ppca.py --scales learned --seeds 0 --epochs 100

Prints a table and writes JSON (``--output``, default ``benchmarks/results/vae_vs_ppca.json``).

What is compared, so that the numbers are in the same units (nats per image):

* Data: kssl's ``digits`` dataset at its native 8x8 resolution (64 pixels; the same
  stratified train/test split as the zoo recipe, test_fraction 0.2, seed 0). Pixels
  take 17 levels k/16. A density on such data is unbounded (it can pile up on the
  levels, and some border pixels are always 0), so every model sees the *dequantised*
  data y = (k + u) / 17, u ~ U(0, 1) per pixel (Theis et al., ICLR 2016). The test split
  gets one fixed draw of u, identical for every model; the VAE trains on a fresh draw
  every epoch, the closed-form baselines are fit on one fixed train draw. Upsampled images
  (the 32x32 of the zoo recipe) are not used: bilinear upsampling is linear, so they lie
  on a 64-dimensional subspace of R^1024 where any density fit (PPCA's included) diverges.
* Baselines, fit on the train split by scikit-learn, scored with ``score_samples`` (exact
  Gaussian log-densities): ``PCA(n_components=latent_dim)`` is probabilistic PCA
  (Tipping & Bishop 1999; isotropic noise), ``FactorAnalysis(latent_dim)`` the same
  linear-Gaussian model with one noise variance per pixel.
* VAE: kssl's ``vae`` pretext task built from a recipe (mlp encoder, dense decoder,
  ``likelihood: gaussian``), trained on the train split, scored on the test split by
  kssl's ``elbo`` evaluator: ``neg_elbo`` (an upper bound on -log p(y)) and ``iw_nll``
  (importance-weighted bound with K samples, Burda et al. 2016; tighter). Two noise
  models, each compared with the linear model that has the same one:
  ``gaussian_scale: learned`` (one isotropic scale) vs PPCA, ``learned_diagonal`` (one
  scale per pixel) vs factor analysis.
* All are continuous densities on [0, 1]^64, so the comparison is like for like. The
  same numbers also bound the discrete 17-level data: -log P(k) <= -log p(y) + 64 log 17
  (Jensen over u); the table adds that and bits per pixel.
* Not compared: the zoo recipe's Bernoulli VAE. Its nats are a cross-entropy over
  binarised pixels (a mass over {0, 1}^1024), a different quantity from a density.

Not a test: numbers depend on seeds and training length (all recorded in the JSON).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LEVELS = 17  # digits pixels are k / 16, k = 0..16
BASELINE_FOR = {"learned": "ppca", "learned_diagonal": "factor_analysis"}


def dequantise(x, seed: int):
    import numpy as np

    k = np.round(np.asarray(x, dtype=np.float64) * (LEVELS - 1))
    u = np.random.default_rng(seed).uniform(size=k.shape)
    return ((k + u) / LEVELS).astype("float32")


def linear_baselines(y_train, y_test, latent_dim: int, seed: int = 0) -> dict:
    import numpy as np
    from sklearn.decomposition import PCA, FactorAnalysis

    a, b = y_train.reshape(len(y_train), -1), y_test.reshape(len(y_test), -1)
    pca = PCA(n_components=latent_dim, svd_solver="full").fit(a)
    fa = FactorAnalysis(n_components=latent_dim, random_state=seed).fit(a)
    return {
        "ppca": {
            "test_nll": float(-np.mean(pca.score_samples(b))),
            "train_nll": float(-np.mean(pca.score_samples(a))),
            "noise_std": float(math.sqrt(pca.noise_variance_)),
        },
        "factor_analysis": {
            "test_nll": float(-np.mean(fa.score_samples(b))),
            "train_nll": float(-np.mean(fa.score_samples(a))),
            "median_noise_std": float(np.median(np.sqrt(fa.noise_variance_))),
        },
    }


def vae_recipe(args, seed: int, scale: str) -> dict:
    return {
        "name": "vae-vs-ppca",
        "seed": seed,
        "data": {"type": "digits", "image_size": 8, "batch_size": args.batch_size},  # not loaded: the dequantised arrays are passed in
        "encoder": {"type": "mlp", "hidden_units": [args.width, args.width]},
        "pretext": {
            "type": "vae",
            "latent_dim": args.latent_dim,
            "decoder_width": args.width,
            "decoder_type": "dense",
            "likelihood": "gaussian",
            "gaussian_scale": scale,
            "beta": 1.0,
            "kl_warmup_steps": args.kl_warmup_steps,
        },
        "optimizer": {"type": "adam", "learning_rate": args.learning_rate, "schedule": "cosine"},
        "train": {"epochs": args.epochs},
        "eval": [{"type": "elbo", "num_samples": 8, "importance_samples": args.importance_samples}],
    }


def train_vae(args, seed: int, scale: str, splits, raw_train) -> dict:
    from kssl.builder import build_all
    from kssl.eval.elbo import ELBOEvaluator
    from kssl.evaluation import evaluate

    built = build_all(vae_recipe(args, seed, scale), data=splits)
    started = time.time()
    for epoch in range(args.epochs):  # a fresh draw of the dequantisation noise every epoch
        fresh = dequantise(raw_train, seed=10_000 * (seed + 1) + epoch)
        built.model.fit(fresh, initial_epoch=epoch, epochs=epoch + 1, batch_size=splits.batch_size, shuffle=True, verbose=0)
    seconds = time.time() - started
    test = evaluate(built.model, splits, built.evaluators)
    train = ELBOEvaluator(num_samples=8, split="train").evaluate(built.model, splits)
    return {"seed": seed, "gaussian_scale": scale, "train_seconds": round(seconds, 1), "test": test, "train_neg_elbo": train["neg_elbo"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latent-dim", type=int, default=16)
    parser.add_argument("--width", type=int, default=128, help="encoder and decoder hidden units")
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=3e-3, help="peak of a cosine decay over the run")
    parser.add_argument("--kl-warmup-steps", type=int, default=1000)
    parser.add_argument("--importance-samples", type=int, default=1000)
    parser.add_argument("--scales", nargs="+", default=["learned", "learned_diagonal"], choices=sorted(BASELINE_FOR))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--output", type=Path, default=HERE / "results" / "vae_vs_ppca.json")
    args = parser.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import numpy as np

    from kssl.data.digits import digits
    from kssl.data.splits import DataSplits

    raw = digits(image_size=8, channels=1, batch_size=args.batch_size, test_fraction=0.2, seed=0)
    y_train, y_test = dequantise(raw.x_train, seed=1), dequantise(raw.x_test, seed=2)
    splits = DataSplits(y_train, raw.y_train, y_test, raw.y_test, batch_size=args.batch_size, class_names=raw.class_names)
    dims = int(np.prod(y_train.shape[1:]))
    discrete = dims * math.log(LEVELS)

    baselines = linear_baselines(y_train, y_test, args.latent_dim)
    runs = []
    for scale in args.scales:
        for seed in args.seeds:
            print(f"training the VAE (gaussian_scale: {scale}), seed {seed}, {args.epochs} epochs...", file=sys.stderr, flush=True)
            runs.append(train_vae(args, seed, scale, splits, raw.x_train))
            print(f"  {runs[-1]['test']}", file=sys.stderr, flush=True)

    def summary(values):
        values = np.asarray(values, dtype=float)
        return {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0, "values": values.tolist()}

    vae = {}
    for scale in args.scales:
        mine = [r for r in runs if r["gaussian_scale"] == scale]
        vae[scale] = {key: summary([r["test"][key] for r in mine]) for key in ("neg_elbo", "iw_nll", "reconstruction", "kl", "active_units")}
        vae[scale]["train_neg_elbo"] = summary([r["train_neg_elbo"] for r in mine])
        base = baselines[BASELINE_FOR[scale]]["test_nll"]
        vae[scale]["beats_baseline"] = {
            "baseline": BASELINE_FOR[scale],
            "neg_elbo": bool(vae[scale]["neg_elbo"]["mean"] < base),
            "iw_nll": bool(vae[scale]["iw_nll"]["mean"] < base),
        }

    def line(name, value, std=0.0):
        spread = f" ± {std:.1f}" if std else ""
        return f"{name:<40} {value:>8.1f}{spread:<7} {value + discrete:>19.1f} {(value + discrete) / dims / math.log(2):>10.3f}"

    print(
        f"\nheld-out digits (8x8, dequantised to [0,1]), latent {args.latent_dim}, {len(y_test)} test images, "
        f"{len(args.seeds)} seed(s); nats per image, lower is better"
    )
    print(f"{'model':<40} {'-log p(y)':>15} {'bound -log P(k)':>19} {'bits/pixel':>10}")
    print(line("PPCA (isotropic noise), exact", baselines["ppca"]["test_nll"]))
    print(line("factor analysis (diagonal noise), exact", baselines["factor_analysis"]["test_nll"]))
    for scale in args.scales:
        v = vae[scale]
        print(line(f"VAE {scale}: neg-ELBO", v["neg_elbo"]["mean"], v["neg_elbo"]["std"]))
        print(line(f"VAE {scale}: IW-NLL (K={args.importance_samples})", v["iw_nll"]["mean"], v["iw_nll"]["std"]))
    for scale in args.scales:
        v = vae[scale]
        print(
            f"VAE {scale}: test KL {v['kl']['mean']:.1f} nats, active units {v['active_units']['mean']:.1f}/{args.latent_dim}, "
            f"train neg-ELBO {v['train_neg_elbo']['mean']:.1f}; beats {v['beats_baseline']['baseline']}: "
            f"neg-ELBO {v['beats_baseline']['neg_elbo']}, IW-NLL {v['beats_baseline']['iw_nll']}"
        )

    result = {
        "benchmark": "vae_vs_ppca",
        "units": "nats per image (64 dequantised pixels in [0,1]); *_discrete_bound adds 64*log(17)",
        "data": {
            "dataset": "digits",
            "image_size": 8,
            "train": len(y_train),
            "test": len(y_test),
            "dequantisation": "(k + u) / 17, u ~ U(0,1); test draw seed 2, baselines' train draw seed 1, VAE a fresh draw per epoch",
        },
        "command": "python benchmarks/vae_vs_ppca.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "baselines": {k: {**v, "test_nll_discrete_bound": v["test_nll"] + discrete} for k, v in baselines.items()},
        "vae": vae,
        "recipes": {scale: vae_recipe(args, args.seeds[0], scale) for scale in args.scales},
        "runs": runs,
        "environment": {"backend": keras.backend.backend(), "keras": keras.__version__, "python": platform.python_version(), "host": platform.node()},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
