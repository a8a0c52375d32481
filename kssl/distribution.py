"""Multi-device training: the recipe's ``distribution`` section -> a scope to build the model in.

```yaml
distribution: {strategy: auto}          # the default
distribution: {strategy: mirrored, devices: ["/gpu:0", "/gpu:1"]}
```

Strategies (``keras.backend.backend()`` decides what each one means):

``auto``
    Every local accelerator when there are several (TensorFlow: ``MirroredStrategy``;
    JAX: ``keras.distribution.DataParallel``), one device otherwise. When the model is
    built inside a user's own ``tf.distribute`` strategy scope, or after the user set a
    ``keras.distribution``, ``auto`` builds under that one.
``none``
    One device; kssl sets up no strategy (on JAX it clears a distribution kssl set before).
``mirrored``
    TensorFlow: ``tf.distribute.MirroredStrategy`` over ``devices`` (default: all local
    GPUs, else all logical CPUs). One process, synchronous replicas.
``multi_worker``
    TensorFlow: ``tf.distribute.MultiWorkerMirroredStrategy`` configured from the
    ``TF_CONFIG`` environment variable (one process per worker). JAX:
    ``keras.distribution.initialize`` (``coordinator_address``/``num_processes``/``process_id``
    from this section, else the ``KERAS_DISTRIBUTION_*`` variables, else ``TF_CONFIG``), then
    ``DataParallel`` over the devices of every process.
``data_parallel``
    JAX: ``keras.distribution.DataParallel`` over ``devices`` (default: all local devices).

The torch backend trains on one device: Keras 3 has no multi-device ``fit`` for torch yet,
so the multi-device strategies raise a clear error there.

Global-batch semantics: under TensorFlow each replica runs ``compute_loss`` on its share
of the batch, so kssl's losses gather what needs the whole batch across replicas
(:mod:`kssl.losses.cross_replica`) and kssl synchronises batch-normalisation statistics
across replicas. Under JAX ``DataParallel`` the arrays are global and nothing is needed.

Use from Python: ``kssl.build(recipe, distribution="mirrored")`` (a strategy name or a
mapping like the recipe section), or build inside your own ``strategy.scope()`` with
``strategy: auto``. On JAX the distribution is process-global
(``keras.distribution.set_distribution``): it stays set after the build so that ``fit``
shards the batch.
"""

from __future__ import annotations

import contextlib
import json
import os

from kssl.errors import KsslError, RecipeError, did_you_mean

STRATEGIES = ("auto", "none", "mirrored", "multi_worker", "data_parallel")
KEYS = ("strategy", "devices", "coordinator_address", "num_processes", "process_id")
_JAX_MULTI_KEYS = ("coordinator_address", "num_processes", "process_id")

_placements: dict = {}  # (backend, canonical spec) -> _Placement: one strategy object per spec and process
_multi_worker: dict = {}  # backend -> the process-wide multi-worker object (it can be created only once)
_kssl_jax_distribution = []  # the keras.distribution kssl installed, if any (so that `none` can remove it)


def _backend() -> str:
    import keras

    return keras.backend.backend()


def normalize(spec) -> dict:
    """Validate a ``distribution`` section (or a strategy name) and fill the default strategy."""
    if spec is None:
        spec = {}
    if isinstance(spec, str):
        spec = {"strategy": spec}
    if not isinstance(spec, dict):
        raise RecipeError("distribution", f"expected a mapping such as {{strategy: auto}} or a strategy name, got {spec!r}.")
    spec = dict(spec)
    for key in spec:
        if key not in KEYS:
            raise RecipeError(f"distribution.{key}", f"unknown key.{did_you_mean(str(key), KEYS)} Allowed: {', '.join(KEYS)}.")
    strategy = spec.setdefault("strategy", "auto")
    if strategy not in STRATEGIES:
        raise RecipeError(
            "distribution.strategy",
            f"unknown strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}.{did_you_mean(str(strategy), STRATEGIES)}",
        )
    devices = spec.get("devices")
    if devices is not None:
        if strategy not in ("mirrored", "data_parallel"):
            raise RecipeError("distribution.devices", f"only the mirrored and data_parallel strategies take a device list; strategy {strategy!r} does not.")
        ok_list = isinstance(devices, list) and devices and all(isinstance(d, str) and d for d in devices)
        ok_count = isinstance(devices, int) and not isinstance(devices, bool) and devices >= 1
        if not (ok_list or ok_count):
            raise RecipeError(
                "distribution.devices",
                f"expected a non-empty list of device names (e.g. [\"/gpu:0\", \"/gpu:1\"] on TensorFlow, "
                f"[\"gpu:0\", \"gpu:1\"] on JAX) or a device count >= 1, got {devices!r}.",
            )
    for key in _JAX_MULTI_KEYS:
        if key in spec and strategy != "multi_worker":
            raise RecipeError(f"distribution.{key}", f"only strategy multi_worker takes {key}; strategy is {strategy!r}.")
    if "coordinator_address" in spec and (not isinstance(spec["coordinator_address"], str) or ":" not in spec["coordinator_address"]):
        raise RecipeError("distribution.coordinator_address", f"expected \"host:port\" of process 0, got {spec['coordinator_address']!r}.")
    for key, low in (("num_processes", 1), ("process_id", 0)):
        value = spec.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < low):
            raise RecipeError(f"distribution.{key}", f"expected an integer >= {low}, got {value!r}.")
    return spec


class _Placement:
    """Where a model lives: the resolved strategy and the object that implements it.

    Attributes:
        strategy: the strategy actually used (``auto`` resolves to ``none``, ``mirrored``,
            ``data_parallel`` or ``external``: a strategy/distribution the user set up).
        backend: the Keras backend.
        num_replicas: how many replicas share each global batch.
        tf_strategy: the ``tf.distribute.Strategy`` (TensorFlow), else None.
        keras_distribution: the ``keras.distribution.Distribution`` (JAX), else None.
    """

    def __init__(self, strategy, backend, num_replicas=1, tf_strategy=None, keras_distribution=None, owned=True):
        self.strategy = strategy
        self.backend = backend
        self.num_replicas = num_replicas
        self.tf_strategy = tf_strategy
        self.keras_distribution = keras_distribution
        self.owned = owned  # False: the user's own strategy, whose scope is already active

    def __repr__(self):
        return f"<placement {self.strategy} on {self.backend}: {self.num_replicas} replica(s)>"

    @contextlib.contextmanager
    def scope(self):
        if self.keras_distribution is not None:
            import keras

            keras.distribution.set_distribution(self.keras_distribution)
            if self.owned:
                _kssl_jax_distribution[:] = [self.keras_distribution]
        elif self.strategy == "none" and self.backend == "jax" and _kssl_jax_distribution:
            import keras

            if keras.distribution.distribution() is _kssl_jax_distribution[0]:
                keras.distribution.set_distribution(None)
            _kssl_jax_distribution.clear()
        if self.tf_strategy is not None and self.owned:
            import tensorflow as tf

            if tf.distribute.has_strategy() and tf.distribute.get_strategy() is not self.tf_strategy:
                raise KsslError(
                    f"distribution.strategy {self.strategy!r}: a different tf.distribute strategy scope is already active. "
                    "Use `strategy: auto` to build under your own strategy, or build outside its scope."
                )
            with self.tf_strategy.scope():
                yield self
        else:
            yield self

    def prepare(self, model, batch_size: int | None = None, jit_compile=None) -> None:
        """Check the global batch size and ``jit_compile``; make batch statistics global across the replicas.

        ``batch_size`` (the recipe's global batch) must split evenly over the replicas:
        JAX cannot place an uneven batch on its devices, and Keras' TensorFlow trainer
        fails when the first batch does not split evenly. ``jit_compile=True`` cannot
        run with several TensorFlow replicas: Keras compiles the whole multi-device step
        with XLA, which cannot reach variables on other devices (``auto`` turns XLA off
        there, as Keras does).

        Keras' BatchNormalization normalises with per-replica statistics under
        tf.distribute; with more than one replica kssl switches every
        BatchNormalization layer of ``model`` to synchronised moments (an all-reduce
        of the sums), so a 2-replica step equals a 1-device step on the same global
        batch. The layer's saved config is left unchanged (``synchronized: false``),
        so the saved model reloads on every backend.
        """
        if batch_size is not None and self.num_replicas > 1 and batch_size % self.num_replicas:
            raise RecipeError(
                "data.batch_size",
                f"the global batch of {batch_size} samples does not split evenly over the {self.num_replicas} replicas "
                f"of strategy {self.strategy!r}: use a batch size that is a multiple of {self.num_replicas} "
                "(and at least that many training samples).",
            )
        if self.backend == "tensorflow" and self.num_replicas > 1:
            if jit_compile is True:
                raise RecipeError(
                    "train.jit_compile",
                    f"XLA (jit_compile: true) does not work with tf.distribute in Keras 3: the {self.num_replicas} replicas' "
                    "variables live on different devices. Use jit_compile: false or auto with strategy "
                    f"{self.strategy!r}, or --backend jax, where data_parallel is compiled with XLA.",
                )
            synchronize_batch_norm(model)
        if self.backend == "tensorflow" and self.tf_strategy is not None:
            import tensorflow as tf

            if isinstance(self.tf_strategy, tf.distribute.MultiWorkerMirroredStrategy):
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


def _synchronized_moments(layer):
    import keras

    local_moments = layer._moments

    def moments(inputs, mask):
        if mask is not None:
            return local_moments(inputs, mask)
        return keras.ops.moments(inputs, axes=layer._reduction_axes, synchronized=True)

    return moments


def _tf_devices(devices):
    import tensorflow as tf

    if isinstance(devices, list):
        known = {d.name.lower().replace("/device:", "/") for d in tf.config.list_logical_devices()}
        names = []
        for d in devices:
            name = d if d.startswith("/") else f"/{d}"
            short = name.lower().replace("/device:", "/").replace("/job:localhost/replica:0/task:0", "")
            if not any(k.endswith(short) for k in known):
                raise RecipeError("distribution.devices", f"no device {d!r} here; this machine has {', '.join(sorted(known))}.")
            names.append(name)
        return names
    gpus = tf.config.list_logical_devices("GPU")
    pool = gpus or tf.config.list_logical_devices("CPU")
    if devices is not None:
        if devices > len(pool):
            raise RecipeError("distribution.devices", f"asked for {devices} devices, but only {len(pool)} {'GPU' if gpus else 'CPU'} device(s) exist here.")
        pool = pool[:devices]
    return [d.name for d in pool]


def _jax_devices(devices):
    import keras

    if isinstance(devices, list):
        import jax

        known = [f"{d.platform}:{d.id}" for d in jax.devices()]
        for d in devices:
            if d.lower() not in known:
                raise RecipeError("distribution.devices", f"no device {d!r} here; JAX sees {', '.join(known)}.")
        return [d.lower() for d in devices]
    pool = keras.distribution.list_devices()
    if devices is not None:
        if devices > len(pool):
            raise RecipeError("distribution.devices", f"asked for {devices} devices, but JAX sees only {len(pool)}: {', '.join(pool)}.")
        pool = pool[:devices]
    return pool


def _cluster_from_tf_config(required: bool):
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        if required:
            raise RecipeError(
                "distribution.strategy",
                "multi_worker needs the TF_CONFIG environment variable, which describes the cluster and this "
                "worker's place in it, e.g. TF_CONFIG='{\"cluster\": {\"worker\": [\"host1:12345\", \"host2:12345\"]}, "
                "\"task\": {\"type\": \"worker\", \"index\": 0}}' (a different index on each worker). "
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
            "{\"cluster\": {\"worker\": [\"host1:port\", \"host2:port\"]}, \"task\": {\"type\": \"worker\", \"index\": 0}}.",
        ) from None
    return workers, index


def _tensorflow(spec) -> _Placement:
    import tensorflow as tf

    strategy = spec["strategy"]
    if strategy == "data_parallel":
        raise RecipeError(
            "distribution.strategy",
            "data_parallel is the JAX strategy (keras.distribution.DataParallel); Keras does not support it on the "
            "tensorflow backend. Use mirrored (one machine), multi_worker (several), auto, or run with --backend jax.",
        )
    if strategy == "none":
        return _Placement("none", "tensorflow")
    if strategy == "auto":
        gpus = tf.config.list_logical_devices("GPU")
        if len(gpus) < 2:
            return _Placement("none", "tensorflow")
        mirrored = tf.distribute.MirroredStrategy([d.name for d in gpus])
        return _Placement("mirrored", "tensorflow", mirrored.num_replicas_in_sync, tf_strategy=mirrored)
    if strategy == "mirrored":
        mirrored = tf.distribute.MirroredStrategy(_tf_devices(spec.get("devices")))
        return _Placement("mirrored", "tensorflow", mirrored.num_replicas_in_sync, tf_strategy=mirrored)
    # multi_worker
    if "tensorflow" not in _multi_worker:
        _cluster_from_tf_config(required=True)
        try:
            _multi_worker["tensorflow"] = tf.distribute.MultiWorkerMirroredStrategy()
        except RuntimeError as exc:
            raise KsslError(
                f"distribution.strategy multi_worker: TensorFlow could not set up the workers ({exc}). "
                "The strategy must be created before TensorFlow runs anything: build the model first thing in "
                "the process (kssl train and kssl.build do so)."
            ) from None
    worker = _multi_worker["tensorflow"]
    return _Placement("multi_worker", "tensorflow", worker.num_replicas_in_sync, tf_strategy=worker)


def _jax(spec) -> _Placement:
    import keras

    strategy = spec["strategy"]
    if strategy == "mirrored":
        raise RecipeError(
            "distribution.strategy",
            "mirrored is TensorFlow's tf.distribute.MirroredStrategy; the jax backend cannot run it. "
            "Use data_parallel (keras.distribution.DataParallel over the local devices), multi_worker, or auto.",
        )
    if strategy == "none":
        return _Placement("none", "jax")
    if strategy == "auto":
        accelerators = [d for d in keras.distribution.list_devices() if not d.startswith("cpu")]
        if len(accelerators) < 2:
            return _Placement("none", "jax")
        dp = keras.distribution.DataParallel(devices=accelerators)
        return _Placement("data_parallel", "jax", len(accelerators), keras_distribution=dp)
    if strategy == "data_parallel":
        devices = _jax_devices(spec.get("devices"))
        dp = keras.distribution.DataParallel(devices=devices)
        return _Placement("data_parallel", "jax", len(devices), keras_distribution=dp)
    # multi_worker
    if "jax" not in _multi_worker:
        address, count, index = _jax_cluster(spec)
        try:
            keras.distribution.initialize(job_addresses=address, num_processes=count, process_id=index)
        except RuntimeError as exc:
            raise KsslError(
                f"distribution.strategy multi_worker: JAX could not join the cluster ({exc}). "
                "It must be initialised before JAX computes anything: build the model first thing in the process."
            ) from None
        # Each process feeds its own share of every global batch (kssl's training input does so,
        # see replica_batches), so Keras must not shard the input again.
        _multi_worker["jax"] = keras.distribution.DataParallel(devices=keras.distribution.list_devices(), auto_shard_dataset=False)
    dp = _multi_worker["jax"]
    return _Placement("multi_worker", "jax", _replicas(dp), keras_distribution=dp)


def _replicas(distribution) -> int:
    return int(distribution.device_mesh.devices.size) if getattr(distribution, "device_mesh", None) is not None else 1


def _jax_cluster(spec):
    """(coordinator address, process count, process id) from the spec, KERAS_DISTRIBUTION_* or TF_CONFIG."""
    env = os.environ
    address = spec.get("coordinator_address") or env.get("KERAS_DISTRIBUTION_JOB_ADDRESSES")
    count = spec.get("num_processes") if spec.get("num_processes") is not None else env.get("KERAS_DISTRIBUTION_NUM_PROCESSES")
    index = spec.get("process_id") if spec.get("process_id") is not None else env.get("KERAS_DISTRIBUTION_PROCESS_ID")
    if address is None and count is None and index is None:
        cluster = _cluster_from_tf_config(required=False)
        if cluster is None:
            raise RecipeError(
                "distribution.strategy",
                "multi_worker on JAX needs the cluster: set coordinator_address, num_processes and process_id in the "
                "distribution section, or the KERAS_DISTRIBUTION_JOB_ADDRESSES / KERAS_DISTRIBUTION_NUM_PROCESSES / "
                "KERAS_DISTRIBUTION_PROCESS_ID environment variables, or TF_CONFIG (as for TensorFlow). "
                "For one machine use strategy data_parallel.",
            )
        workers, index = cluster
        return workers[0], len(workers), index
    missing = [k for k, v in (("coordinator_address", address), ("num_processes", count), ("process_id", index)) if v is None]
    if missing:
        raise RecipeError(f"distribution.{missing[0]}", f"multi_worker on JAX needs coordinator_address, num_processes and process_id; missing {', '.join(missing)}.")
    return address, int(count), int(index)


def configure(spec) -> _Placement:
    """Validate ``spec`` and create its strategy (once per process and spec); returns the placement.

    Call it before anything computes: TensorFlow's multi-worker strategy and JAX's
    multi-process initialisation must come first in a process.
    """
    spec = normalize(spec)
    backend = _backend()
    if spec["strategy"] == "auto":
        external = _users_own(backend)
        if external is not None:
            return external
    key = (backend, json.dumps(spec, sort_keys=True))
    if key not in _placements:
        if backend == "tensorflow":
            placement = _tensorflow(spec)
        elif backend == "jax":
            placement = _jax(spec)
        elif spec["strategy"] in ("auto", "none"):
            placement = _Placement("none", backend)
        else:
            raise RecipeError(
                "distribution.strategy",
                f"{spec['strategy']} is not supported on the {backend} backend yet: Keras 3 has no multi-device fit "
                f"for {backend}. Use strategy auto or none (one device), or run with --backend tensorflow (mirrored, "
                "multi_worker) or --backend jax (data_parallel, multi_worker).",
            )
        _placements[key] = placement
    return _placements[key]


def _users_own(backend: str):
    """The placement of a strategy/distribution the user set up (for ``auto``), else None."""
    if backend == "tensorflow":
        import tensorflow as tf

        if tf.distribute.has_strategy():
            outer = tf.distribute.get_strategy()
            return _Placement("external", "tensorflow", outer.num_replicas_in_sync, tf_strategy=outer, owned=False)
    elif backend == "jax":
        import keras

        current = keras.distribution.distribution()
        if current is not None and not (_kssl_jax_distribution and current is _kssl_jax_distribution[0]):
            return _Placement("external", "jax", _replicas(current), keras_distribution=current, owned=False)
    return None


@contextlib.contextmanager
def distribution_scope(spec):
    """Build and compile models inside this context; yields the placement (see module docs).

    >>> with distribution_scope({"strategy": "mirrored"}) as placement:
    ...     model = make_model()
    ...     placement.prepare(model)      # cross-replica batch statistics
    ...     model.compile(...)
    """
    placement = configure(spec)
    with placement.scope():
        yield placement


def model_replicas(model=None) -> int:
    """How many replicas share each global batch of ``model`` (TensorFlow) or of the current
    ``keras.distribution`` (JAX, global over all processes); 1 on one device."""
    backend = _backend()
    if backend == "tensorflow" and model is not None:
        strategy = getattr(model, "_distribute_strategy", None)
        return int(strategy.num_replicas_in_sync) if strategy is not None else 1
    if backend == "jax":
        import keras

        current = keras.distribution.distribution()
        return _replicas(current) if current is not None else 1
    return 1


def replica_batches(model, x, batch_size: int, shuffle: bool = True, seed: int = 0):
    """Training batches for ``model.fit`` when JAX data parallelism needs them, else None.

    JAX ``DataParallel`` splits every batch evenly over the devices, so the last, partial
    batch of an epoch (e.g. 1797 % 256 = 5 samples over 2 devices) cannot be placed.
    This yields shuffled global batches of ``batch_size`` whose last one is trimmed to
    a multiple of the replica count (fewer than ``replicas`` samples are skipped per
    epoch, different ones each epoch), and in a multi-process run gives each process
    its own share of every global batch. ``None``: pass the arrays to ``fit`` as usual.
    """
    if _backend() != "jax":
        return None
    import keras

    if type(model).fit is not keras.Model.fit:
        return None  # a pretext task with its own fit (e.g. DEC's phases) batches its data itself
    replicas = model_replicas(model)
    if replicas < 2:
        return None
    import jax

    return _GlobalBatches(x, batch_size, replicas, shuffle, seed, jax.process_index(), jax.process_count())


def predict(model, x, batch_size: int = 256):
    """``model.predict(x)`` that also works when ``len(x)`` does not split over JAX data-parallel devices.

    The input is padded with copies of its last sample up to a multiple of the replica
    count (and ``batch_size`` rounded up to one), and the padding is cut from the output:
    inference is per sample, so the result equals the 1-device prediction.
    """
    import numpy as np

    replicas = model_replicas(model) if _backend() == "jax" else 1
    n = len(x)
    if replicas < 2 or n == 0:
        return model.predict(x, batch_size=batch_size, verbose=0)
    batch_size = -(-batch_size // replicas) * replicas
    pad = (-n) % replicas
    if pad:
        x = np.concatenate([x, np.repeat(x[-1:], pad, axis=0)], axis=0)
    out = model.predict(x, batch_size=batch_size, verbose=0)
    import keras

    return keras.tree.map_structure(lambda a: a[:n], out)


_GLOBAL_BATCHES = []


def _GlobalBatches(*args, **kwargs):
    """Shuffled global batches whose sizes split evenly over the replicas (see :func:`replica_batches`).

    The class is defined on first use so that importing this module does not import Keras.
    """
    if not _GLOBAL_BATCHES:
        import keras
        import numpy as np

        class GlobalBatches(keras.utils.PyDataset):
            def __init__(self, x, batch_size, replicas, shuffle, seed, process_index=0, process_count=1):
                super().__init__()
                self.x = x
                self.batch_size = int(batch_size)
                self.replicas = int(replicas)
                self.shuffle = shuffle
                self.process_index = process_index
                self.process_count = process_count
                self._rng = np.random.default_rng(seed)
                self._order = self._rng.permutation(len(x)) if shuffle else np.arange(len(x))
                full, rest = divmod(len(x), self.batch_size)
                self._batches = full + (1 if rest // self.replicas else 0)

            def __len__(self):
                return self._batches

            def __getitem__(self, index):
                rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
                rows = rows[: len(rows) // self.replicas * self.replicas]  # a whole number of rows per replica
                share = len(rows) // self.process_count  # this process's part of the global batch
                return self.x[rows[self.process_index * share : (self.process_index + 1) * share]]

            def on_epoch_end(self):
                if self.shuffle:
                    self._order = self._rng.permutation(len(self.x))

        _GLOBAL_BATCHES.append(GlobalBatches)
    return _GLOBAL_BATCHES[0](*args, **kwargs)
