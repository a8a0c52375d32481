"""Classical clustering baselines on the digits, scored like kssl's ``clustering`` evaluator (ACC / NMI / ARI).

    python benchmarks/digits_clustering_baselines.py                 # seeds 0 1 2
    python benchmarks/digits_clustering_baselines.py --seeds 0 --output /tmp/baselines.json

What a deep clustering recipe on the digits (``zoo/dec.yaml``) should be compared with,
beyond the raw-pixel k-means that the evaluator reports. Same data as the recipe:
kssl's ``digits`` dataset at 8x8, its stratified split (test_fraction 0.2, split seed 0),
10 clusters, metrics from :mod:`kssl.eval.cluster_metrics`.

* Inductive methods are fit on the 1437 training digits and assign the 360 held-out
  ones, as the evaluator does: k-means on the pixels, k-means on PCA(10) (the width of
  DEC's embedding), and a full-covariance Gaussian mixture on PCA(30).
* Transductive methods (no out-of-sample assignment) are fit on train + test and scored
  on the test rows: Ward agglomerative clustering, spectral clustering on a 10-nearest-
  neighbour graph, and k-means on a 2-D t-SNE map. They see the held-out digits while
  clustering, so they are a reference for how separable the classes are, not a like-for-
  like competitor of an encoder that must embed unseen samples.

Prints a table (mean ± std over ``--seeds``; the seed drives every randomised
method, not the split) and writes JSON (``--output``, default
``benchmarks/results/digits_clustering_baselines.json``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np


def _methods():
    from sklearn.cluster import AgglomerativeClustering, KMeans, SpectralClustering
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from sklearn.mixture import GaussianMixture
    from sklearn.pipeline import make_pipeline

    k = 10
    inductive = {
        "kmeans_pixels": lambda s: KMeans(k, n_init=20, random_state=s),
        "kmeans_pca10": lambda s: make_pipeline(PCA(10, random_state=s), KMeans(k, n_init=20, random_state=s)),
        "gmm_full_pca30": lambda s: make_pipeline(PCA(30, random_state=s), GaussianMixture(k, covariance_type="full", n_init=5, random_state=s)),
    }
    transductive = {
        "ward_pixels": lambda s, x: AgglomerativeClustering(k).fit_predict(x),
        "spectral_knn10": lambda s, x: SpectralClustering(k, affinity="nearest_neighbors", n_neighbors=10, random_state=s).fit_predict(x),
        "kmeans_tsne2": lambda s, x: KMeans(k, n_init=20, random_state=s).fit_predict(TSNE(2, random_state=s).fit_transform(x)),
    }
    return inductive, transductive


def run(seeds) -> dict:
    from kssl.data.digits import digits
    from kssl.eval.cluster_metrics import clustering_scores

    data = digits(image_size=8, channels=1, test_fraction=0.2, seed=0)
    x_train = data.x_train.reshape(len(data.x_train), -1).astype("float64")
    x_test = data.x_test.reshape(len(data.x_test), -1).astype("float64")
    x_all = np.concatenate([x_train, x_test])
    inductive, transductive = _methods()
    results = {}
    for name, make in inductive.items():
        results[name] = {"protocol": "fit on train, assign test", "runs": []}
        for seed in seeds:
            started = time.time()
            predicted = make(seed).fit(x_train).predict(x_test)
            results[name]["runs"].append({"seed": seed, **clustering_scores(data.y_test, predicted), "seconds": time.time() - started})
    for name, cluster in transductive.items():
        results[name] = {"protocol": "fit on train+test, score test", "runs": []}
        for seed in seeds:
            started = time.time()
            predicted = cluster(seed, x_all)[len(x_train) :]
            results[name]["runs"].append({"seed": seed, **clustering_scores(data.y_test, predicted), "seconds": time.time() - started})
    for entry in results.values():
        entry["summary"] = {
            metric: {
                "mean": statistics.fmean(r[metric] for r in entry["runs"]),
                "std": statistics.stdev([r[metric] for r in entry["runs"]]) if len(entry["runs"]) > 1 else 0.0,
            }
            for metric in ("acc", "nmi", "ari")
        }
    return results


def table(results: dict) -> str:
    lines = [f"{'method':<16}  {'protocol':<30}  {'ACC':>13}  {'NMI':>13}  {'ARI':>13}"]
    for name, entry in results.items():
        cells = "  ".join(f"{entry['summary'][m]['mean']:.3f} ± {entry['summary'][m]['std']:.3f}" for m in ("acc", "nmi", "ari"))
        lines.append(f"{name:<16}  {entry['protocol']:<30}  {cells}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--output", default=str(Path(__file__).parent / "results" / "digits_clustering_baselines.json"))
    args = parser.parse_args(argv)
    results = run(args.seeds)
    print(table(results))
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"seeds": args.seeds, "split": {"test_fraction": 0.2, "seed": 0}, "methods": results}, indent=2))
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
