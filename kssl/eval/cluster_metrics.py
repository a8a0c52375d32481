"""Clustering quality against ground-truth labels: ACC (Hungarian matching), NMI, ARI.

ACC is the accuracy of the best one-to-one mapping of clusters to classes,
found with scipy's ``linear_sum_assignment`` on the contingency table (Xie et
al., DEC, ICML 2016, eq. 10). NMI and ARI are scikit-learn's
``normalized_mutual_info_score`` and ``adjusted_rand_score``. Cluster ids are
arbitrary: every metric here is invariant to renaming them.
"""

from __future__ import annotations

import numpy as np

from kssl.errors import KsslError


def _as_labels(name: str, values) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise KsslError(f"{name}: expected a 1-D array of integer labels, got shape {array.shape}.")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        if not np.all(np.equal(np.mod(array, 1), 0)):
            raise KsslError(f"{name}: expected integer labels, got values such as {array[:3].tolist()}.")
    return array.astype(np.int64)


def _checked(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = _as_labels("y_true", y_true), _as_labels("y_pred", y_pred)
    if y_true.shape != y_pred.shape:
        raise KsslError(f"labels and cluster assignments differ in length: {len(y_true)} vs {len(y_pred)}.")
    if y_true.size == 0:
        raise KsslError("cannot score an empty clustering (0 samples).")
    if y_true.min() < 0 or y_pred.min() < 0:
        raise KsslError("labels and cluster ids must be >= 0.")
    return y_true, y_pred


def contingency_matrix(y_true, y_pred) -> np.ndarray:
    """Counts ``C[cluster, class]`` of samples in each cluster with each label."""
    y_true, y_pred = _checked(y_true, y_pred)
    counts = np.zeros((int(y_pred.max()) + 1, int(y_true.max()) + 1), dtype=np.int64)
    np.add.at(counts, (y_pred, y_true), 1)
    return counts


def cluster_to_class(y_true, y_pred) -> dict[int, int]:
    """The one-to-one cluster -> class mapping that maximises agreement (Hungarian method).

    With more clusters than classes, the unmatched clusters are absent from the
    mapping (their samples count as errors in :func:`cluster_accuracy`).
    """
    from scipy.optimize import linear_sum_assignment

    counts = contingency_matrix(y_true, y_pred)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return {int(r): int(c) for r, c in zip(rows, cols)}


def cluster_accuracy(y_true, y_pred) -> float:
    """Unsupervised clustering accuracy: max over one-to-one mappings m of mean(y_true == m(y_pred))."""
    y_true, y_pred = _checked(y_true, y_pred)
    mapping = cluster_to_class(y_true, y_pred)
    mapped = np.array([mapping.get(int(c), -1) for c in y_pred])
    return float(np.mean(mapped == y_true))


def normalized_mutual_info(y_true, y_pred) -> float:
    """Normalised mutual information (arithmetic mean normalisation, scikit-learn's default)."""
    from sklearn.metrics import normalized_mutual_info_score

    y_true, y_pred = _checked(y_true, y_pred)
    return float(normalized_mutual_info_score(y_true, y_pred))


def adjusted_rand(y_true, y_pred) -> float:
    """Adjusted Rand index (0 for random labelings in expectation, 1 for identical partitions)."""
    from sklearn.metrics import adjusted_rand_score

    y_true, y_pred = _checked(y_true, y_pred)
    return float(adjusted_rand_score(y_true, y_pred))


def clustering_scores(y_true, y_pred) -> dict[str, float]:
    """``{"acc": ..., "nmi": ..., "ari": ...}`` of a clustering against labels."""
    return {
        "acc": cluster_accuracy(y_true, y_pred),
        "nmi": normalized_mutual_info(y_true, y_pred),
        "ari": adjusted_rand(y_true, y_pred),
    }


def usage_entropy(assignments, n_clusters: int) -> float:
    """Entropy of how often each of ``n_clusters`` clusters is used, divided by log(n_clusters).

    1.0 means every cluster holds the same number of samples; 0.0 means all
    samples fall into one cluster (collapse).
    """
    assignments = _as_labels("assignments", assignments)
    if n_clusters < 2:
        return 0.0
    p = np.bincount(assignments, minlength=n_clusters) / max(len(assignments), 1)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum() / np.log(n_clusters))
