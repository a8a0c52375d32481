"""The features of fixed models, computed once per (model, array) pair and shared by evaluators."""

from __future__ import annotations

import numpy as np


class FeatureCache:
    """``embed(model, x)`` computes ``model.embed(x)`` once per (model, array) and hands out read-only arrays.

    A run makes one for its evaluators (kNN, linear probe, clustering and their pictures
    all embed the same splits) and drops it afterwards. The models must not change while
    the cache is in use: it is keyed by object identity, and holds the objects so that
    their identities stay unique.
    """

    def __init__(self):
        self._entries: dict = {}

    def embed(self, model, x, batch_size: int = 256, **options) -> np.ndarray:
        """Features of ``x`` from ``model.embed`` as a 2-D float32 array (extra dimensions flattened).

        ``options`` are passed on to ``model.embed`` (e.g. a masked language model's
        ``pooling``) and are part of the key; ``batch_size`` is not (it does not change
        the features).
        """
        key = (id(model), id(x), tuple(sorted(options.items())))
        hit = self._entries.get(key)
        if hit is not None and hit[0] is model and hit[1] is x:
            return hit[2]
        features = np.asarray(model.embed(x, batch_size=batch_size, **options), dtype=np.float32)
        features = features.reshape(len(features), -1)
        features.flags.writeable = False  # shared by every evaluator of the run
        self._entries[key] = (model, x, features)
        return features

    def clear(self) -> None:
        """Forget every entry (and release the models and arrays it held)."""
        self._entries.clear()
