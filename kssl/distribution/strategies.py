"""From a ``distribution`` section to a :class:`Placement`: once per process and section."""

from __future__ import annotations

import contextlib
import json

from kssl.distribution import jax as jax_distribution
from kssl.distribution import state
from kssl.distribution import tensorflow as tf_distribution
from kssl.distribution.placement import Placement
from kssl.errors import RecipeError
from kssl.recipe_distribution import check_distribution

# The strategies of the other backend, and what to use instead (torch: every multi-device one, see _placement).
_OTHER_BACKENDS = {
    ("tensorflow", "data_parallel"): "data_parallel is the JAX strategy (keras.distribution.DataParallel); Keras does not support "
    "it on the tensorflow backend. Use mirrored (one machine), multi_worker (several), auto, or run with --backend jax.",
    ("jax", "mirrored"): "mirrored is TensorFlow's tf.distribute.MirroredStrategy; the jax backend cannot run it. "
    "Use data_parallel (keras.distribution.DataParallel over the local devices), multi_worker, or auto.",
}


def _backend() -> str:
    import keras

    return keras.backend.backend()


def configure(spec) -> Placement:
    """Validate ``spec`` and create its strategy (once per process and spec); returns the placement.

    Call it before anything computes: TensorFlow's multi-worker strategy and JAX's
    multi-process initialisation must come first in a process.
    """
    spec = check_distribution(spec)
    backend = _backend()
    if spec["strategy"] == "auto":
        external = _users_own(backend)
        if external is not None:
            return external
    key = (backend, json.dumps(spec, sort_keys=True))
    if key not in state.placements:
        state.placements[key] = _placement(spec, backend)
    return state.placements[key]


def _placement(spec: dict, backend: str) -> Placement:
    if (backend, spec["strategy"]) in _OTHER_BACKENDS:
        raise RecipeError("distribution.strategy", _OTHER_BACKENDS[backend, spec["strategy"]])
    if backend == "tensorflow":
        name, strategy = tf_distribution.strategy(spec)
        return Placement(name, backend, strategy.num_replicas_in_sync if strategy is not None else 1, tf_strategy=strategy)
    if backend == "jax":
        name, distribution = jax_distribution.distribution(spec)
        return Placement(name, backend, jax_distribution.replicas(distribution), keras_distribution=distribution)
    if spec["strategy"] in ("auto", "none"):
        return Placement("none", backend)
    raise RecipeError(
        "distribution.strategy",
        f"{spec['strategy']} is not supported on the {backend} backend yet: Keras 3 has no multi-device fit "
        f"for {backend}. Use strategy auto or none (one device), or run with --backend tensorflow (mirrored, "
        "multi_worker) or --backend jax (data_parallel, multi_worker).",
    )


def _users_own(backend: str):
    """The placement of a strategy/distribution the user set up (for ``auto``), else None."""
    if backend == "tensorflow":
        outer = tf_distribution.users_own()
        if outer is not None:
            return Placement("external", backend, outer.num_replicas_in_sync, tf_strategy=outer, owned=False)
    elif backend == "jax":
        current = jax_distribution.users_own()
        if current is not None:
            return Placement("external", backend, jax_distribution.replicas(current), keras_distribution=current, owned=False)
    return None


@contextlib.contextmanager
def distribution_scope(spec):
    """Build and compile models inside this context; yields the placement (see :mod:`kssl.distribution`).

    >>> with distribution_scope({"strategy": "mirrored"}) as placement:
    ...     model = make_model()
    ...     placement.prepare(model)      # cross-replica batch statistics
    ...     model.compile(...)
    """
    placement = configure(spec)
    with placement.scope():
        yield placement
