"""Numbers that show a collapsing embedding: per-dimension spread, effective rank, uniformity, alignment.

Pure numpy functions of an (N, d) embedding matrix, used by :class:`kssl.monitors.CollapseMonitor`.
"""

from __future__ import annotations

import numpy as np

from kssl.eval.knn import unit_rows

RANKME_EPS = 1e-7


def l2_normalize(z) -> np.ndarray:
    """(N, ...) -> (N, d) rows of unit Euclidean norm (an all-zero row stays zero); float64."""
    z = np.asarray(z, dtype=np.float64)
    return unit_rows(z.reshape(len(z), -1))


def embedding_std(z) -> float:
    """The mean over dimensions of the standard deviation over samples of the L2-normalised rows.

    Unit vectors spread evenly over d dimensions have about ``1 / sqrt(d)`` per dimension;
    a collapsed embedding (every sample mapped to one point) has 0.
    """
    return float(np.mean(np.std(l2_normalize(z), axis=0)))


def rankme(z, eps: float = RANKME_EPS) -> float:
    """RankMe, the effective rank of ``z``: ``exp(-sum p_k log p_k)`` with ``p_k = s_k / sum(s) + eps``.

    ``s`` are the singular values of the (N, d) matrix. Garrido et al., "RankMe: Assessing the
    downstream performance of pretrained self-supervised representations by their rank" (ICML
    2023). d equal singular values give d; a rank-1 matrix gives 1; an all-zero matrix 0.
    """
    z = np.asarray(z, dtype=np.float64).reshape(len(z), -1)
    s = np.linalg.svd(z, compute_uv=False)
    total = s.sum()
    if total <= 0:
        return 0.0
    p = s / total + eps
    return float(np.exp(-np.sum(p * np.log(p))))


def uniformity(z, t: float = 2.0) -> float:
    """``log mean exp(-t ||u - v||^2)`` over all pairs of distinct L2-normalised rows.

    Wang & Isola, "Understanding Contrastive Representation Learning through Alignment and
    Uniformity on the Hypersphere" (ICML 2020). Lower is more uniform: 0 when every sample
    is the same point, ``-4 t`` for two antipodal points. NaN for fewer than two rows.
    """
    u = l2_normalize(z)
    if len(u) < 2:
        return float("nan")
    sq = np.sum(u * u, axis=1)
    dist = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (u @ u.T), 0.0)
    a = -t * dist[np.triu_indices(len(u), k=1)]
    top = a.max()
    return float(top + np.log(np.mean(np.exp(a - top))))  # log-mean-exp, shifted: no underflow


def alignment(z1, z2, alpha: float = 2.0) -> float:
    """``mean ||f(x1) - f(x2)||^alpha`` of the L2-normalised embeddings of two views (Wang & Isola 2020).

    0 when both views of every sample land on the same point; 4 (alpha 2) when they are antipodal.
    """
    diff = l2_normalize(z1) - l2_normalize(z2)
    return float(np.mean(np.linalg.norm(diff, axis=1) ** alpha))


def collapse_metrics(z, z1=None, z2=None) -> dict:
    """The monitor's numbers for embeddings ``z`` (and, if given, two views' embeddings ``z1``, ``z2``).

    ``collapse_std`` (see :func:`embedding_std`), ``collapse_std_relative`` (the same times
    ``sqrt(d)``: about 1 for well-spread unit vectors, 0 collapsed), ``collapse_rank``
    (:func:`rankme` of the L2-normalised rows), ``collapse_uniformity`` and, with views,
    ``collapse_alignment``. Non-finite embeddings give NaN everywhere.
    """
    z = np.asarray(z, dtype=np.float64).reshape(len(z), -1)
    keys = ["collapse_std", "collapse_std_relative", "collapse_rank", "collapse_uniformity"]
    with_views = z1 is not None and z2 is not None
    if with_views:
        keys.append("collapse_alignment")
    finite = np.isfinite(z).all() and (not with_views or (np.isfinite(z1).all() and np.isfinite(z2).all()))
    if not finite or len(z) == 0:
        return dict.fromkeys(keys, float("nan"))
    std = embedding_std(z)
    metrics = {
        "collapse_std": std,
        "collapse_std_relative": std * float(np.sqrt(z.shape[1])),
        "collapse_rank": rankme(l2_normalize(z)),
        "collapse_uniformity": uniformity(z),
    }
    if with_views:
        metrics["collapse_alignment"] = alignment(z1, z2)
    return metrics
