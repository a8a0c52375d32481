"""The process-wide distribution state, all of it in this one module.

It is global on purpose: TensorFlow's ``MultiWorkerMirroredStrategy`` and JAX's
multi-process initialisation can each be set up only once per process, a model must
be built and trained under the same strategy object (``configure`` is called by the
builder and again by the training run), and ``keras.distribution.set_distribution``
is itself process-global on JAX.
"""

from __future__ import annotations

placements: dict = {}  # (backend, canonical spec) -> Placement: one strategy object per spec and process
multi_worker: dict = {}  # backend -> the multi-worker strategy/distribution (it can be created only once)
kssl_jax_distribution: list = []  # [the keras.distribution kssl installed], if any, so that `none` can remove it
