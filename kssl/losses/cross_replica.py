"""Cross-replica helpers for losses that need the whole global batch.

Under TensorFlow's ``tf.distribute`` (``mirrored``, ``multi_worker``) each replica
runs ``compute_loss`` on its own share of the global batch. A loss whose value
depends on other samples of the batch (NT-Xent negatives, Sinkhorn/SwAV
assignments, batch statistics) must gather those samples from every replica, or
a 2-replica run silently trains a different objective than a 1-device run
(lightly #1176, solo-learn #253/#262, TF Similarity #258).

Under JAX ``keras.distribution.DataParallel`` the arrays are global (sharded by
XLA), and on one device there is nothing to gather: every function here is then
the identity, so a loss calls them unconditionally.

How to write a global-batch loss that is exact under every strategy:

1. Gather what the loss needs: ``z = all_gather(z)`` (gradients flow back to
   the replica that produced each row: TensorFlow's ``all_gather`` gradient sums
   the upstream gradients of all replicas and keeps this replica's slice).
2. Compute the loss of the *whole* global batch on every replica and return it
   through a ``keras.losses.Loss`` (reduction ``sum_over_batch_size``), which
   scales it by ``1 / num_replicas``; a raw tensor returned from
   ``compute_loss`` must be scaled with :func:`scale_for_replicas` instead.
   Each replica then contributes ``L / R``; the all-reduced gradient is exactly
   the 1-device gradient of ``L``, and the reported loss is ``L``.
"""

from __future__ import annotations

import keras


def _tf_replica_context():
    """The TensorFlow replica context with more than one replica in sync, else None."""
    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    if not tf.distribute.has_strategy():
        return None
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync < 2:
        return None  # cross-replica context (building, eager calls) or a single replica
    return context


def num_replicas() -> int:
    """How many replicas each compute a share of the batch in the current step (1 outside tf.distribute)."""
    context = _tf_replica_context()
    return 1 if context is None else int(context.num_replicas_in_sync)


def all_gather(x, axis: int = 0):
    """``x`` from every replica concatenated along ``axis`` in replica order (identity with one replica).

    Replicas may hold different numbers of rows (the last, partial batch of an epoch).
    """
    context = _tf_replica_context()
    if context is None:
        return x
    return context.all_gather(x, axis=axis)


def on_global_batch(fn, x):
    """``fn`` applied to the global batch of ``x``; returns this replica's rows of the result.

    For a batch-level computation whose output has one row per sample, such as
    Sinkhorn-Knopp codes (SwAV) or batch-centred targets: every replica
    gathers all rows, runs ``fn`` on them and keeps the rows it contributed, so
    each sample gets the value it would get on one device.
    ``fn`` must map (B, ...) to (B, ...) in the same row order.
    """
    context = _tf_replica_context()
    if context is None:
        return fn(x)
    import tensorflow as tf

    rows = tf.shape(x)[0]
    sizes = context.all_gather(tf.reshape(rows, [1]), axis=0)
    start = tf.reduce_sum(sizes[: context.replica_id_in_sync_group])
    return fn(context.all_gather(x, axis=0))[start : start + rows]


def scale_for_replicas(value):
    """``value / num_replicas()``: what ``keras.losses.Loss`` does to its result under tf.distribute.

    Use it for a loss tensor that does not come out of a ``keras.losses.Loss``
    (e.g. regularisation terms; :func:`with_model_losses` adds ``model.losses`` this way).
    """
    replicas = num_replicas()
    if replicas == 1:
        return value
    return keras.ops.multiply(value, keras.ops.cast(1.0 / replicas, keras.backend.standardize_dtype(value.dtype)))


def with_model_losses(model, loss):
    """``loss`` plus the regularisation terms ``model.losses``, scaled per replica as Keras' own ``compute_loss`` does.

    Call it at the end of a ``compute_loss`` override: ``return with_model_losses(self, loss)``.
    """
    if not model.losses:
        return loss
    return loss + scale_for_replicas(sum(model.losses))
