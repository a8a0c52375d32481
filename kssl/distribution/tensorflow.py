"""TensorFlow: ``tf.distribute`` strategies, device lists, ``TF_CONFIG``, batch-norm sync, vector logs."""

from __future__ import annotations

import json
import os

from kssl.distribution import state
from kssl.errors import KsslError, RecipeError


def strategy(spec: dict):
    """``(resolved strategy name, tf.distribute.Strategy or None)`` for a checked section (auto, none, mirrored, multi_worker)."""
    import tensorflow as tf

    name = spec["strategy"]
    if name == "none":
        return "none", None
    if name == "auto":
        gpus = tf.config.list_logical_devices("GPU")
        if len(gpus) < 2:
            return "none", None
        return "mirrored", tf.distribute.MirroredStrategy([d.name for d in gpus])
    if name == "mirrored":
        return "mirrored", tf.distribute.MirroredStrategy(devices(spec.get("devices")))
    # multi_worker
    if "tensorflow" not in state.multi_worker:
        cluster_from_tf_config(required=True)
        try:
            state.multi_worker["tensorflow"] = tf.distribute.MultiWorkerMirroredStrategy()
        except RuntimeError as exc:
            raise KsslError(
                f"distribution.strategy multi_worker: TensorFlow could not set up the workers ({exc}). "
                "The strategy must be created before TensorFlow runs anything: build the model first thing in "
                "the process (kssl train and kssl.build do so)."
            ) from None
    return "multi_worker", state.multi_worker["tensorflow"]


def users_own():
    """The ``tf.distribute`` strategy whose scope the caller opened, else None."""
    import tensorflow as tf

    return tf.distribute.get_strategy() if tf.distribute.has_strategy() else None


def check_no_other_scope(tf_strategy, name: str) -> None:
    """Raise when a ``tf.distribute`` scope other than ``tf_strategy``'s is active."""
    import tensorflow as tf

    if tf.distribute.has_strategy() and tf.distribute.get_strategy() is not tf_strategy:
        raise KsslError(
            f"distribution.strategy {name!r}: a different tf.distribute strategy scope is already active. "
            "Use `strategy: auto` to build under your own strategy, or build outside its scope."
        )


def devices(spec_devices) -> list[str]:
    """TensorFlow device names for ``devices`` (a list of names, a count, or None: every GPU, else every CPU)."""
    import tensorflow as tf

    if isinstance(spec_devices, list):
        known = {d.name.lower().replace("/device:", "/") for d in tf.config.list_logical_devices()}
        names = []
        for d in spec_devices:
            name = d if d.startswith("/") else f"/{d}"
            short = name.lower().replace("/device:", "/").replace("/job:localhost/replica:0/task:0", "")
            if not any(k.endswith(short) for k in known):
                raise RecipeError("distribution.devices", f"no device {d!r} here; this machine has {', '.join(sorted(known))}.")
            names.append(name)
        return names
    gpus = tf.config.list_logical_devices("GPU")
    pool = gpus or tf.config.list_logical_devices("CPU")
    if spec_devices is not None:
        if spec_devices > len(pool):
            raise RecipeError(
                "distribution.devices", f"asked for {spec_devices} devices, but only {len(pool)} {'GPU' if gpus else 'CPU'} device(s) exist here."
            )
        pool = pool[:spec_devices]
    return [d.name for d in pool]


def cluster_from_tf_config(required: bool):
    """``(worker addresses, this worker's index)`` from ``TF_CONFIG``; None when unset and not ``required``."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        if required:
            raise RecipeError(
                "distribution.strategy",
                "multi_worker needs the TF_CONFIG environment variable, which describes the cluster and this "
                'worker\'s place in it, e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                '"task": {"type": "worker", "index": 0}}\' (a different index on each worker). '
                "For one machine use strategy mirrored (TensorFlow) or data_parallel (JAX).",
            )
        return None
    try:
        config = json.loads(raw)
        workers = config["cluster"]["worker"]
        task = config["task"]
        index = int(task["index"])
        if not isinstance(workers, list) or not workers or not 0 <= index < len(workers):
            raise ValueError(f"task index {index} is not a position in the worker list")
    except (ValueError, KeyError, TypeError) as exc:
        raise RecipeError(
            "distribution.strategy",
            f"multi_worker: TF_CONFIG is not a valid cluster description ({exc}). Expected JSON like "
            '{"cluster": {"worker": ["host1:port", "host2:port"]}, "task": {"type": "worker", "index": 0}}.',
        ) from None
    return workers, index


def prepare(model, tf_strategy, num_replicas: int, name: str, jit_compile=None) -> None:
    """Refuse XLA over several replicas; global batch statistics; vector logs under multi-worker (see Placement.prepare)."""
    if num_replicas > 1:
        if jit_compile is True:
            raise RecipeError(
                "train.jit_compile",
                f"XLA (jit_compile: true) does not work with tf.distribute in Keras 3: the {num_replicas} replicas' "
                "variables live on different devices. Use jit_compile: false or auto with strategy "
                f"{name!r}, or --backend jax, where data_parallel is compiled with XLA.",
            )
        synchronize_batch_norm(model)
    if tf_strategy is not None:
        import tensorflow as tf

        if isinstance(tf_strategy, tf.distribute.MultiWorkerMirroredStrategy):
            _vector_logs(model)


def synchronize_batch_norm(model) -> int:
    """Use cross-replica batch statistics in every BatchNormalization layer of ``model``; returns how many."""
    import keras

    count = 0
    for layer in model._flatten_layers(include_self=True, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization) and not layer.synchronized:
            if getattr(layer, "_kssl_synchronized", False):
                continue
            layer._moments = _synchronized_moments(layer)
            layer._kssl_synchronized = True
            count += 1
    return count


def _synchronized_moments(layer):
    import keras

    local_moments = layer._moments

    def moments(inputs, mask):
        if mask is not None:
            return local_moments(inputs, mask)
        return keras.ops.moments(inputs, axes=layer._reduction_axes, synchronized=True)

    return moments


def _vector_logs(model) -> None:
    """Return the step's logs as shape-(1,) tensors under MultiWorkerMirroredStrategy.

    Keras 3's TensorFlow trainer reduces each log across workers with
    ``strategy.reduce("MEAN", value, axis=0)``, which fails on the scalar logs every
    step returns ("Invalid reduction dimension 0 for input with 0 dimensions"). A
    (1,)-shaped log reduces to the same scalar mean. The wrapper only reshapes what
    ``train_step``/``test_step`` return; the step itself is the model's own.
    """
    if getattr(model, "_kssl_vector_logs", False):
        return
    import keras

    def vectorise(step):
        def wrapped(data):
            return keras.tree.map_structure(lambda v: keras.ops.reshape(v, (1,)) if len(keras.ops.shape(v)) == 0 else v, step(data))

        return wrapped

    model.train_step = vectorise(model.train_step)
    model.test_step = vectorise(model.test_step)
    model._kssl_vector_logs = True
