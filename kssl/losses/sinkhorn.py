"""Sinkhorn-Knopp equal-partition assignments of SwAV.

Caron, Misra, Mairal, Goyal, Bojanowski, Joulin, "Unsupervised Learning of
Visual Features by Contrasting Cluster Assignments", NeurIPS 2020
(arXiv:2006.09882), section 3.1 and algorithm 1; after Cuturi, "Sinkhorn
Distances", NeurIPS 2013.
"""

from __future__ import annotations

from keras import ops

_TINY = 1e-30  # guards a prototype no sample is near (its exp underflowed to 0)


def sinkhorn(scores, epsilon: float = 0.05, iterations: int = 3):
    """Soft codes ``Q`` (B, K) for a batch of prototype ``scores`` (B, K).

    Solves the entropy-regularised transport problem
    ``max_Q Tr(Q^T S) + epsilon * H(Q)`` over the transportation polytope where
    each of the K prototypes receives B/K of the mass and each sample a total
    of 1, by ``iterations`` alternating row/column normalisations of
    ``exp(S / epsilon)``. The last step normalises the samples, so every row of
    the result sums to exactly 1; the prototype totals approach B/K as the
    iterations grow. No gradient flows through the codes.

    The function sees only the scores it is given: to assign over a global
    batch under data parallelism, gather the scores of all replicas first and
    pass them in (the codes are an equal partition of whatever batch is passed).
    """
    scores = ops.stop_gradient(ops.cast(scores, "float32"))
    n = ops.cast(ops.shape(scores)[0], "float32")
    k = ops.cast(ops.shape(scores)[1], "float32")
    # Subtracting the global maximum leaves Q unchanged (a constant factor) and keeps exp finite.
    q = ops.exp((scores - ops.max(scores)) / epsilon)
    q = q / ops.sum(q)
    for _ in range(int(iterations)):
        q = q / ops.maximum(ops.sum(q, axis=0, keepdims=True), _TINY) / k  # each prototype: total mass 1/K
        q = q / ops.maximum(ops.sum(q, axis=1, keepdims=True), _TINY) / n  # each sample: total mass 1/B
    return ops.stop_gradient(q * n)
