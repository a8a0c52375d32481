"""Turning a trained pretext model into feature vectors for evaluators."""

from __future__ import annotations

import contextlib

import numpy as np

_CACHE: dict | None = None  # (id(model), id(x)) -> (model, x, features) inside cached_features()


@contextlib.contextmanager
def cached_features():
    """Within this block :func:`embed` computes the features of each (model, array) pair once.

    For evaluating fixed models with several evaluators (kNN, linear probe, clustering
    and their pictures all embed the same splits): the models must not change inside it.
    """
    global _CACHE
    outer = _CACHE
    _CACHE = {} if outer is None else outer
    try:
        yield
    finally:
        _CACHE = outer


def embed(model, x, batch_size: int = 256) -> np.ndarray:
    """Features of ``x`` from a pretext model, as a 2-D float32 array (read-only inside :func:`cached_features`).

    Uses ``model.embed(x)`` when the pretext task defines one (e.g. a VAE's latent
    means), else ``model.encoder.predict``. Extra dimensions are flattened.
    """
    key = (id(model), id(x))
    if _CACHE is not None and key in _CACHE and _CACHE[key][0] is model and _CACHE[key][1] is x:
        return _CACHE[key][2]
    if hasattr(model, "embed"):
        feats = model.embed(x, batch_size=batch_size)
    else:
        encoder = getattr(model, "encoder", model)
        from kssl.distribution import predict

        feats = predict(encoder, x, batch_size=batch_size)  # model.predict, padded for JAX data parallelism
    feats = np.asarray(feats, dtype=np.float32)
    feats = feats.reshape(len(feats), -1)
    if _CACHE is not None:
        feats.flags.writeable = False  # shared by every evaluator of the block
        _CACHE[key] = (model, x, feats)
    return feats
