"""Choosing the Keras backend before Keras is imported, and checking a recipe's names with no Keras at all.

Shared by the CLI and the commands in :mod:`kssl.commands`.
"""

from __future__ import annotations

import os
import sys

from kssl import quiet_tensorflow
from kssl.component_names import check_component_names
from kssl.errors import KsslError
from kssl.recipe import BACKENDS

# TensorFlow's C++ log level when the user has not chosen one: its start-up lines (absl's
# InitializeLog notice, "Could not find cuda drivers", oneDNN, cuInit) stay out of the way.
# Set TF_CPP_MIN_LOG_LEVEL=0 to see them all again (see kssl.quiet_tensorflow).
DEFAULT_TF_LOG_LEVEL = "3"


def select_backend(requested: str | None, recipe: dict | None = None, import_keras: bool = True) -> str:
    """Fix the Keras backend before Keras is imported: --backend, then the recipe's ``backend:``, then $KERAS_BACKEND.

    With ``import_keras=False`` only the environment is set (backend, quiet TensorFlow start-up),
    for whatever imports Keras later (e.g. a plugin's hook).
    """
    backend = requested or (recipe or {}).get("backend") or os.environ.get("KERAS_BACKEND") or "tensorflow"
    if backend not in BACKENDS:
        from kssl.errors import did_you_mean

        where = "--backend" if requested else "backend"
        raise KsslError(f"{where}: unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}.{did_you_mean(backend, BACKENDS)}")
    if "keras" in sys.modules:
        current = sys.modules["keras"].backend.backend()
        if current != backend:
            raise KsslError(
                f"the {backend} backend was requested, but Keras is already loaded with {current} in this process. "
                f"Run kssl in a fresh process (or set KERAS_BACKEND={backend} before importing keras)."
            )
        return backend
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", DEFAULT_TF_LOG_LEVEL)
    quiet_tensorflow.install()  # whenever TensorFlow is imported (by Keras, or by TensorBoard under JAX)
    if not import_keras:
        return backend
    try:
        import keras  # noqa: F401
    except ImportError as exc:
        hint = " Install it with `pip install torch==2.13.0`." if backend == "torch" else f" Install the {backend} package."
        raise KsslError(f"the {backend} backend cannot be loaded ({exc}).{hint}") from None
    return backend


def check_names(backend: str | None, recipe: dict) -> None:
    """The recipe's component types against the registry's names, before Keras is imported (a typo answers at once).

    The backend is fixed first: a third-party plugin's hook may import Keras while the names are listed.
    """
    select_backend(backend, recipe, import_keras=False)
    check_component_names(recipe)
