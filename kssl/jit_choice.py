"""``train.jit_compile: auto``: the faster compiled path for each Keras backend.

Keras runs a train step in one of two ways per backend. ``jit_compile: false`` means a
``tf.function`` graph on TensorFlow (compiled, without XLA) but op-by-op execution on JAX
and torch; ``true`` means XLA on TensorFlow and JAX and ``torch.compile`` on torch. So
``auto`` resolves to:

- jax: true. Without jit every op is dispatched from Python: SimCLR (ResNet-18) trained 16
  times fewer samples per CPU-second (docs/performance.md, ``train.jit_compile``).
- tensorflow: false. The graph without XLA trained SimCLR (ResNet-18) twice as many samples
  per CPU-second as XLA on a CPU, and XLA cannot span several tf.distribute replicas.
- torch: false, eager execution: torch's usual path and Keras' own ``auto`` for torch
  (``true`` means ``torch.compile``, whose first steps spend a long time compiling). Not
  measured: torch is not installed where the numbers above come from.

An explicit ``true`` or ``false`` in the recipe is always honoured.
"""

from __future__ import annotations

__all__ = ["AUTO", "describe_jit_compile", "resolve_jit_compile"]

AUTO = {"jax": True, "tensorflow": False, "torch": False}


def resolve_jit_compile(setting, backend: str) -> bool:
    """The ``jit_compile`` to compile with: ``setting`` itself when it is true or false, else :data:`AUTO` for ``backend``."""
    if setting == "auto":
        return AUTO.get(backend, False)
    return bool(setting)


def describe_jit_compile(setting, backend: str) -> str:
    """The log line, e.g. ``jit_compile auto -> true (jax)`` or ``jit_compile false (set in the recipe; tensorflow)``."""
    resolved = str(resolve_jit_compile(setting, backend)).lower()
    if setting == "auto":
        return f"jit_compile auto -> {resolved} ({backend})"
    return f"jit_compile {resolved} (set in the recipe; {backend})"
