"""Feeding an :class:`~kssl.data.image_stream.ImageStream` to ``fit`` and ``predict``: shards, steps, resume, decode errors.

Each worker reads its own shard (``tf.distribute`` multi-worker: one input pipeline per
worker through ``distribute_datasets_from_function``; JAX multi-process: one shard per
process, fed the process's share of every global batch). An epoch is one pass over the
shard, its order a function of ``(seed, epoch)``, so a run resumed at epoch ``e`` replays
epoch ``e`` exactly as it was begun.
"""

from __future__ import annotations

import contextlib

import numpy as np

from kssl.data.image_stream import ImageStream
from kssl.errors import KsslError


def _tf_multi_worker(model):
    """The model's ``MultiWorkerMirroredStrategy``, or None."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    strategy = getattr(model, "_distribute_strategy", None)  # where Keras keeps the strategy the model was built under
    return strategy if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) else None


def _jax_processes() -> tuple[int, int]:
    """``(process count, this process's index)`` of a JAX run; (1, 0) elsewhere."""
    import keras

    if keras.backend.backend() != "jax":
        return 1, 0
    import jax

    return jax.process_count(), jax.process_index()


def check_streamable_task(model) -> None:
    """Refuse a pretext task with its own data-side pipeline (text tokenisation, DEC's changing targets)."""
    if model.has_data_pipeline():
        raise KsslError(
            f"data: the {type(model).__name__} pretext task builds its own data pipeline from samples held in memory, "
            "so it cannot train on a streamed dataset. Set data.stream: false (and a `limit` that fits in memory)."
        )


def stream_fit_input(model, stream: ImageStream, batch_size: int, shuffle: bool = True, seed: int = 0, steps_per_epoch=None, initial_epoch: int = 0):
    """``(input, fit kwargs)`` for ``model.fit`` on ``stream``: an endless pipeline and its ``steps_per_epoch``.

    Without ``steps_per_epoch`` an epoch is one pass over this worker's shard; with it, the
    passes run on across epochs (as :mod:`kssl.data.epoch_steps` does for arrays). Starting at
    ``initial_epoch`` skips exactly the batches of the epochs already done, without decoding them.
    """
    from kssl.distribution import model_replicas

    check_streamable_task(model)
    strategy = _tf_multi_worker(model)
    processes, process = _jax_processes()
    replicas = model_replicas(model)
    if strategy is not None:  # one pipeline per worker, per-replica batches, every worker the same number of them
        workers = strategy.cluster_resolver.cluster_spec().num_tasks("worker") or 1
        split, shards, drop = replicas, (workers, strategy.cluster_resolver.task_id), True
        per_step = replicas // workers  # batches of a worker's pipeline one step takes (one per local replica)
    else:  # JAX: each process its share of every global batch, split evenly over the devices
        split, shards, drop, per_step = processes, (processes, process), _is_jax() and replicas > 1, 1
    if batch_size % split:
        raise KsslError(f"data.batch_size: {batch_size} does not split evenly over {split} replicas or processes; use a multiple of {split}.")
    per_batch = batch_size // split
    per_pass = stream.steps_per_epoch(per_batch, shards[0], drop) // per_step  # steps in one pass of this worker's shard
    if per_pass < 1:
        raise KsslError(
            f"data.batch_size: {batch_size} is more than the {stream.reader.shard_size(shards[0])} samples each of {shards[0]} worker(s) "
            "reads per epoch; use a smaller batch_size."
        )
    steps = steps_per_epoch or per_pass
    first_epoch, skip = divmod(initial_epoch * steps * per_step, per_pass * per_step)
    options = {"shuffle": shuffle, "seed": seed, "repeat": True, "first_epoch": first_epoch, "skip_batches": skip, "drop_remainder": drop}
    if strategy is None:
        return stream.dataset(per_batch, shard=shards, **options), {"shuffle": False, "steps_per_epoch": steps}
    pipeline = strategy.distribute_datasets_from_function(
        lambda context: stream.dataset(
            context.get_per_replica_batch_size(batch_size), shard=(context.num_input_pipelines, context.input_pipeline_id), **options
        )
    )
    return pipeline, {"shuffle": False, "steps_per_epoch": steps}


def _is_jax() -> bool:
    import keras

    return keras.backend.backend() == "jax"


def predict_stream(model, stream: ImageStream, batch_size: int):
    """``model.predict`` over every sample of ``stream`` in order, batch by batch (nothing decoded is kept)."""
    import keras

    from kssl.distribution import model_replicas

    replicas = model_replicas(model) if _is_jax() else 1
    batch_size = -(-batch_size // replicas) * replicas
    dataset = _pad_last_batch(stream.dataset(batch_size, shuffle=False), (-len(stream)) % replicas)
    with explain_decode_errors(stream):
        if _tf_multi_worker(model) is None:
            out = model.predict(dataset, verbose=0)
        else:  # predict would split each batch over the workers' replicas; every worker scores every sample itself
            parts = [keras.tree.map_structure(keras.ops.convert_to_numpy, model(batch, training=False)) for batch in dataset]
            out = keras.tree.map_structure(lambda *a: np.concatenate(a, axis=0), *parts)
    out = keras.tree.map_structure(lambda a: a[: len(stream)], out)  # without the padding
    got = len(keras.tree.flatten(out)[0])
    if got != len(stream):  # on_error: skip dropped images that decode badly: features would not match their labels
        bad = undecodable(stream, limit=3)
        raise KsslError(
            f"data: {len(stream) - got} image(s) could not be decoded while computing features, e.g. {', '.join(map(repr, bad))}; "
            "evaluators need one feature per sample. Remove or replace those files."
        )
    return out


def _pad_last_batch(dataset, pad: int):
    """``dataset`` with ``pad`` copies of the last image appended to its last batch (JAX data parallelism splits every
    batch evenly over the devices; inference is per sample, so the padding's outputs are simply cut off)."""
    if pad == 0:
        return dataset
    import tensorflow as tf

    last = int(dataset.cardinality()) - 1  # known: on_error fail; under skip an uneven end fails in predict, named by Keras

    def padded(i, batch):
        return tf.cond(i == last, lambda: tf.concat([batch, tf.repeat(batch[-1:], pad, axis=0)], axis=0), lambda: batch)

    return dataset.enumerate().map(padded)


def undecodable(stream: ImageStream, limit: int = 1) -> list[str]:
    """Names of up to ``limit`` samples of ``stream`` that fail to decode (a full decoding pass: call it after a failure)."""
    import tensorflow as tf

    from kssl.data.decode import decode_resize

    ids = tf.data.Dataset.range(len(stream))
    size, channels, reader = stream.image_size, stream.channels, stream.reader
    records = reader.pass_dataset(tf.constant(0, tf.int64), False, 0, 1, 0).take(len(stream))
    decoded = tf.data.Dataset.zip((ids, records)).map(
        lambda i, r: (i, decode_resize(reader.load(r[0]), size, channels)[0, 0]),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,  # a pixel: the decode must run
    )
    seen = {int(i) for i, _ in decoded.ignore_errors().as_numpy_iterator()}
    return [reader.name(i) for i in range(len(stream)) if i not in seen][:limit]


@contextlib.contextmanager
def explain_decode_errors(*streams):
    """Turn TensorFlow's decode error inside ``fit``/``predict`` on ``streams`` into a :class:`KsslError` naming the file."""
    streams = [s for s in streams if isinstance(s, ImageStream)]
    if not streams:
        yield
        return
    import tensorflow as tf

    try:
        yield
    except tf.errors.InvalidArgumentError as exc:
        bad = [name for s in streams for name in undecodable(s)]
        where = f"the image {bad[0]!r} cannot be decoded" if bad else f"an image cannot be decoded ({exc.message.splitlines()[0]})"
        raise KsslError(
            f"data: {where}. Remove or replace the file, or set data.on_error: skip to leave out the images that cannot be read. "
            "Checkpoints of the epochs completed before it are kept (`kssl train --resume RUN_DIR` continues from them)."
        ) from None
