"""Turning a trained pretext model into feature vectors for evaluators."""

from __future__ import annotations

import numpy as np


def embed(model, x, batch_size: int = 256) -> np.ndarray:
    """Features of ``x`` from a pretext model, as a 2-D float32 array.

    Uses ``model.embed(x)`` when the pretext task defines one (e.g. a VAE's latent
    means), else ``model.encoder.predict``. Extra dimensions are flattened.
    """
    if hasattr(model, "embed"):
        feats = model.embed(x, batch_size=batch_size)
    else:
        encoder = getattr(model, "encoder", model)
        from kssl.distribution import predict

        feats = predict(encoder, x, batch_size=batch_size)  # model.predict, padded for JAX data parallelism
    feats = np.asarray(feats, dtype=np.float32)
    return feats.reshape(len(feats), -1)
