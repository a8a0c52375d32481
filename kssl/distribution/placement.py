"""Where a model lives: the resolved strategy, the scope to build it in, and the model's preparation."""

from __future__ import annotations

import contextlib

from kssl.distribution import jax as jax_distribution
from kssl.distribution import tensorflow as tf_distribution
from kssl.errors import RecipeError


class Placement:
    """Where a model lives: the resolved strategy and the object that implements it.

    Attributes:
        strategy: the strategy actually used (``auto`` resolves to ``none``, ``mirrored``,
            ``data_parallel`` or ``external``: a strategy/distribution the user set up).
        backend: the Keras backend.
        num_replicas: how many replicas share each global batch.
        tf_strategy: the ``tf.distribute.Strategy`` (TensorFlow), else None.
        keras_distribution: the ``keras.distribution.Distribution`` (JAX), else None.
        owned: False for the user's own strategy, whose scope is already active.
    """

    def __init__(self, strategy, backend, num_replicas=1, tf_strategy=None, keras_distribution=None, owned=True):
        self.strategy = strategy
        self.backend = backend
        self.num_replicas = num_replicas
        self.tf_strategy = tf_strategy
        self.keras_distribution = keras_distribution
        self.owned = owned

    def __repr__(self):
        return f"<placement {self.strategy} on {self.backend}: {self.num_replicas} replica(s)>"

    @contextlib.contextmanager
    def scope(self):
        """Build and compile models inside this context (JAX: the distribution stays set afterwards, for ``fit``)."""
        if self.backend == "jax":
            jax_distribution.install(self.keras_distribution, self.owned)
        if self.tf_strategy is not None and self.owned:
            tf_distribution.check_no_other_scope(self.tf_strategy, self.strategy)
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
        so the saved model reloads on every backend. Under MultiWorkerMirroredStrategy
        the step's logs are returned as shape-(1,) tensors, which Keras can reduce
        across workers.
        """
        if batch_size is not None and self.num_replicas > 1 and batch_size % self.num_replicas:
            raise RecipeError(
                "data.batch_size",
                f"the global batch of {batch_size} samples does not split evenly over the {self.num_replicas} replicas "
                f"of strategy {self.strategy!r}: use a batch size that is a multiple of {self.num_replicas} "
                "(and at least that many training samples).",
            )
        if self.backend == "tensorflow":
            tf_distribution.prepare(model, self.tf_strategy, self.num_replicas, self.strategy, jit_compile)
