"""Unit-length rows with a finite gradient everywhere, for the cosine similarities of the SSL losses."""

from __future__ import annotations

from keras import ops


def l2_normalize(x, axis: int = -1, epsilon: float = 1e-12):
    """``x / max(||x||, epsilon)`` along ``axis``, written as ``x * rsqrt(max(||x||^2, epsilon^2))``.

    The usual ``x / maximum(norm(x), epsilon)`` (and ``keras.ops.normalize``) has a NaN
    gradient at ``x = 0``: the norm's derivative there is 0/0, and the branch that
    ``maximum`` discards still multiplies it by zero. A projector whose ReLU layer goes
    silent for one sample outputs exactly its (zero-initialised) bias, and one such row made
    a SimSiam step NaN on JAX. Clamping the squared norm first keeps every gradient finite.
    """
    squared = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return x * ops.rsqrt(ops.maximum(squared, epsilon * epsilon))
