"""k-means initialisation of cluster centroids: the lowest-inertia or the most balanced of several restarts."""

from __future__ import annotations

import numpy as np

SELECTIONS = ("inertia", "balanced")


def size_entropy(labels, n_clusters: int) -> float:
    """Entropy (nats) of the cluster sizes of ``labels``; log(n_clusters) when all are equal."""
    fractions = np.bincount(np.asarray(labels), minlength=n_clusters) / len(labels)
    fractions = fractions[fractions > 0]
    return float(-(fractions * np.log(fractions)).sum())


def kmeans_init(z, n_clusters: int, restarts: int, seed: int | None = None, selection: str = "inertia"):
    """``(centroids, labels)`` of k-means on the rows of ``z``, chosen among ``restarts`` runs.

    ``selection="inertia"`` keeps the run with the lowest within-cluster sum of squares
    (scikit-learn's ``n_init``; the DEC paper's choice). ``"balanced"`` keeps the run whose
    cluster sizes have the highest entropy, the lower inertia breaking ties: on embeddings
    where k-means' local optima have almost equal inertia, the ones that merge two true
    groups and split a third are the unbalanced ones. It assumes roughly equal-sized
    clusters, the prior that DEC's target distribution (which divides by cluster frequency)
    and SwAV's equal-partition assignments also build in.
    """
    from sklearn.cluster import KMeans

    z = np.asarray(z, dtype="float64")
    if selection == "inertia":
        fitted = KMeans(n_clusters, n_init=restarts, random_state=seed).fit(z)
        return fitted.cluster_centers_, fitted.labels_.astype("int64")
    if selection != "balanced":
        raise ValueError(f"selection must be one of {SELECTIONS}, got {selection!r}")
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=restarts)
    best, best_key = None, None
    for s in seeds:
        fitted = KMeans(n_clusters, n_init=1, random_state=int(s)).fit(z)
        key = (round(size_entropy(fitted.labels_, n_clusters), 9), -fitted.inertia_)
        if best_key is None or key > best_key:
            best, best_key = fitted, key
    return best.cluster_centers_, best.labels_.astype("int64")
