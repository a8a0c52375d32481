"""How many replicas share a global batch, and training batches that split evenly over them."""

from __future__ import annotations

from kssl.distribution import jax as jax_distribution


def model_replicas(model=None) -> int:
    """How many replicas share each global batch of ``model`` (TensorFlow) or of the current
    ``keras.distribution`` (JAX, global over all processes); 1 on one device."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow" and model is not None:
        strategy = getattr(model, "_distribute_strategy", None)
        return int(strategy.num_replicas_in_sync) if strategy is not None else 1
    if backend == "jax":
        return jax_distribution.replicas(keras.distribution.distribution())
    return 1


def replica_batches(model, x, batch_size: int, shuffle: bool = True, seed: int = 0):
    """Training batches for ``model.fit`` when JAX data parallelism needs them, else None.

    For a model that ``fit`` feeds arrays (its ``make_dataset`` returned None). JAX
    ``DataParallel`` splits every batch evenly over the devices, so the last, partial
    batch of an epoch (e.g. 1797 % 256 = 5 samples over 2 devices) cannot be placed.
    This returns a :class:`kssl.data.batches.ShuffledBatches` of global batches of
    ``batch_size`` whose last one is trimmed to a multiple of the replica count, and
    in a multi-process run gives each process its own share of every global batch.
    ``None``: pass the arrays to ``fit`` as usual.
    """
    import keras

    if keras.backend.backend() != "jax":
        return None
    replicas = model_replicas(model)
    if replicas < 2:
        return None
    import jax

    from kssl.data.batches import ShuffledBatches

    return ShuffledBatches(x, batch_size, shuffle, seed, replicas=replicas, process_index=jax.process_index(), process_count=jax.process_count())
