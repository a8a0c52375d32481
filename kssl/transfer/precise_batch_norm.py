"""Precise BatchNorm statistics: the moving mean and variance recomputed as an exact average over data."""

from __future__ import annotations


def recompute_batch_norm_statistics(model, x, batch_size: int = 512) -> int:
    """Replace the moving statistics of every ``BatchNormalization`` in ``model`` by their average over ``x``.

    Fine-tuning on a few labels takes few optimizer steps, too few for BatchNorm's
    exponential moving averages (momentum 0.99) to forget their initial values: a network
    that fits its training batches perfectly can then predict one class at inference.
    This is "precise BN" (Wu and Johnson, "Rethinking 'Batch' in BatchNorm", 2021): one
    pass over ``x`` in training mode with the momentum of batch ``i`` set to ``i / (i + 1)``,
    so that the stored statistics become the mean of the per-batch statistics. Nothing
    else changes (no optimizer step; dropout and augmentation are not part of ``model``).
    Returns the number of BatchNormalization layers updated.
    """
    import keras
    import numpy as np

    layers = [layer for layer in model._flatten_layers(include_self=False, recursive=True) if isinstance(layer, keras.layers.BatchNormalization)]
    if not layers or len(x) == 0:
        return 0
    momenta = [layer.momentum for layer in layers]
    try:
        for i, start in enumerate(range(0, len(x), batch_size)):
            for layer in layers:
                layer.momentum = i / (i + 1)
            model(np.asarray(x[start : start + batch_size]), training=True)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
    return len(layers)
