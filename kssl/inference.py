"""Batched inference: one way to turn a model (or a function of a batch) into numpy outputs.

:func:`predict` runs ``model.predict`` and also works under JAX data parallelism, where a
batch must split evenly over the devices; :func:`map_batches` applies any function of a
batch (a pretext task's heads, a VAE's posterior) to an array of any length.
"""

from __future__ import annotations

import numpy as np

__all__ = ["map_batches", "predict"]


def map_batches(fn, x, batch_size: int = 256, empty_shape=None):
    """``fn`` applied to ``x`` in batches of ``batch_size``, outputs converted to numpy and concatenated.

    ``fn`` maps a batch (N, ...) to a tensor (N, ...) or a tuple/dict of them. For an empty
    ``x`` the result is ``np.zeros(empty_shape, float32)`` (give the output's shape with N=0),
    or an empty float32 array of shape (0,).
    """
    import keras

    batch_size = max(1, int(batch_size))
    parts = [keras.tree.map_structure(lambda t: np.asarray(keras.ops.convert_to_numpy(t)), fn(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]
    if not parts:
        return np.zeros(empty_shape if empty_shape is not None else (0,), "float32")
    return keras.tree.map_structure(lambda *a: np.concatenate(a, axis=0), *parts)


def predict(model, x, batch_size: int = 256):
    """``model.predict(x)`` that also works when ``len(x)`` does not split over JAX data-parallel devices.

    The input is padded with copies of its last sample up to a multiple of the replica
    count (and ``batch_size`` rounded up to one), and the padding is cut from the output:
    inference is per sample, so the result equals the 1-device prediction.
    """
    import keras

    from kssl.data.image_stream import ImageStream
    from kssl.data.stream_input import predict_stream
    from kssl.distribution import model_replicas

    if isinstance(x, ImageStream):  # decoded batch by batch, never held whole
        return predict_stream(model, x, batch_size)
    replicas = model_replicas(model) if keras.backend.backend() == "jax" else 1
    n = len(x)
    if replicas < 2 or n == 0:
        return model.predict(x, batch_size=batch_size, verbose=0)
    batch_size = -(-batch_size // replicas) * replicas
    pad = (-n) % replicas
    if pad:
        x = np.concatenate([x, np.repeat(x[-1:], pad, axis=0)], axis=0)
    out = model.predict(x, batch_size=batch_size, verbose=0)
    return keras.tree.map_structure(lambda a: a[:n], out)
