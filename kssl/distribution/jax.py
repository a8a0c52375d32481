"""JAX: ``keras.distribution.DataParallel``, device lists, multi-process initialisation."""

from __future__ import annotations

import os

from kssl.distribution import state
from kssl.distribution.tensorflow import cluster_from_tf_config
from kssl.errors import KsslError, RecipeError


def distribution(spec: dict):
    """``(resolved strategy name, keras.distribution.Distribution or None)`` for a checked section (auto, none, data_parallel, multi_worker)."""
    import keras

    name = spec["strategy"]
    if name == "none":
        return "none", None
    if name == "auto":
        accelerators = [d for d in keras.distribution.list_devices() if not d.startswith("cpu")]
        if len(accelerators) < 2:
            return "none", None
        return "data_parallel", keras.distribution.DataParallel(devices=accelerators)
    if name == "data_parallel":
        return "data_parallel", keras.distribution.DataParallel(devices=devices(spec.get("devices")))
    # multi_worker
    if "jax" not in state.multi_worker:
        address, count, index = cluster(spec)
        try:
            keras.distribution.initialize(job_addresses=address, num_processes=count, process_id=index)
        except RuntimeError as exc:
            raise KsslError(
                f"distribution.strategy multi_worker: JAX could not join the cluster ({exc}). "
                "It must be initialised before JAX computes anything: build the model first thing in the process."
            ) from None
        # Each process feeds its own share of every global batch (kssl's training input does so,
        # see replica_batches), so Keras must not shard the input again.
        state.multi_worker["jax"] = keras.distribution.DataParallel(devices=keras.distribution.list_devices(), auto_shard_dataset=False)
    return "multi_worker", state.multi_worker["jax"]


def replicas(keras_distribution) -> int:
    """How many devices a ``keras.distribution`` splits each global batch over (1 without a device mesh)."""
    mesh = getattr(keras_distribution, "device_mesh", None)
    return int(mesh.devices.size) if mesh is not None else 1


def users_own():
    """The ``keras.distribution`` the user set (not one kssl installed), else None."""
    import keras

    current = keras.distribution.distribution()
    if current is not None and not (state.kssl_jax_distribution and current is state.kssl_jax_distribution[0]):
        return current
    return None


def install(keras_distribution, owned: bool) -> None:
    """Set ``keras_distribution`` process-wide; None removes the one kssl set before (strategy ``none``)."""
    import keras

    if keras_distribution is not None:
        keras.distribution.set_distribution(keras_distribution)
        if owned:
            state.kssl_jax_distribution[:] = [keras_distribution]
    elif state.kssl_jax_distribution:
        if keras.distribution.distribution() is state.kssl_jax_distribution[0]:
            keras.distribution.set_distribution(None)
        state.kssl_jax_distribution.clear()


def devices(spec_devices) -> list[str]:
    """JAX device names for ``devices`` (a list of names, a count, or None: every local device)."""
    import keras

    if isinstance(spec_devices, list):
        import jax

        known = [f"{d.platform}:{d.id}" for d in jax.devices()]
        for d in spec_devices:
            if d.lower() not in known:
                raise RecipeError("distribution.devices", f"no device {d!r} here; JAX sees {', '.join(known)}.")
        return [d.lower() for d in spec_devices]
    pool = keras.distribution.list_devices()
    if spec_devices is not None:
        if spec_devices > len(pool):
            raise RecipeError("distribution.devices", f"asked for {spec_devices} devices, but JAX sees only {len(pool)}: {', '.join(pool)}.")
        pool = pool[:spec_devices]
    return pool


def cluster(spec: dict):
    """(coordinator address, process count, process id) from the spec, KERAS_DISTRIBUTION_* or TF_CONFIG."""
    env = os.environ
    address = spec.get("coordinator_address") or env.get("KERAS_DISTRIBUTION_JOB_ADDRESSES")
    count = spec.get("num_processes") if spec.get("num_processes") is not None else env.get("KERAS_DISTRIBUTION_NUM_PROCESSES")
    index = spec.get("process_id") if spec.get("process_id") is not None else env.get("KERAS_DISTRIBUTION_PROCESS_ID")
    if address is None and count is None and index is None:
        found = cluster_from_tf_config(required=False)
        if found is None:
            raise RecipeError(
                "distribution.strategy",
                "multi_worker on JAX needs the cluster: set coordinator_address, num_processes and process_id in the "
                "distribution section, or the KERAS_DISTRIBUTION_JOB_ADDRESSES / KERAS_DISTRIBUTION_NUM_PROCESSES / "
                "KERAS_DISTRIBUTION_PROCESS_ID environment variables, or TF_CONFIG (as for TensorFlow). "
                "For one machine use strategy data_parallel.",
            )
        workers, index = found
        return workers[0], len(workers), index
    missing = [k for k, v in (("coordinator_address", address), ("num_processes", count), ("process_id", index)) if v is None]
    if missing:
        raise RecipeError(
            f"distribution.{missing[0]}", f"multi_worker on JAX needs coordinator_address, num_processes and process_id; missing {', '.join(missing)}."
        )
    return address, int(count), int(index)
