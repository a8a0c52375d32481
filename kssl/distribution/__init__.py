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

The section is checked by :func:`kssl.recipe_distribution.check_distribution` when the
recipe is loaded. The modules of this package: ``strategies`` (:func:`configure`,
:func:`distribution_scope`), ``placement`` (:class:`Placement`: the scope and the model's
preparation), ``tensorflow`` and ``jax`` (each backend's strategies), ``batches``
(:func:`model_replicas`, :func:`replica_batches`) and ``state`` (what is process-wide, and
why). Keras, TensorFlow and JAX are imported inside the functions that use them, so that
importing this package (the recipe checks, the CLI before ``--backend`` is applied) does
not start a backend.
"""

from __future__ import annotations

from kssl.distribution.batches import model_replicas, replica_batches
from kssl.distribution.placement import Placement
from kssl.distribution.strategies import configure, distribution_scope
from kssl.distribution.tensorflow import synchronize_batch_norm
from kssl.recipe_distribution import STRATEGIES

__all__ = [
    "STRATEGIES",
    "Placement",
    "configure",
    "distribution_scope",
    "model_replicas",
    "replica_batches",
    "synchronize_batch_norm",
]
