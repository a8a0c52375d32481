"""kssl: a plugin-based Keras 3 toolkit for self-supervised learning.

``import kssl`` loads the plugin registry, which imports every component class
so that ``keras.models.load_model`` finds kssl's (and installed plugins') saved
classes without ``custom_objects``. Set ``KERAS_BACKEND`` before importing kssl.
The ``kssl`` command line is the exception: it imports Keras only after it has
chosen the backend from ``--backend`` or the recipe.
"""

import os as _os
import sys as _sys

from kssl.errors import ArgumentError, KsslError, RecipeError, TrainingError
from kssl.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = [
    "ArgumentError",
    "CollapseMonitor",
    "Evaluator",
    "KsslError",
    "OnlineProbe",
    "PretextTask",
    "RecipeError",
    "TrainingError",
    "__version__",
    "build",
    "classifier",
    "export_embeddings",
    "finetune",
    "get_registry",
    "hookimpl",
    "load_model",
    "load_recipe",
]

# Public names that import Keras (or more) are loaded on first use, so that the command line
# can read a recipe and choose the backend before Keras is imported.
_LAZY = {
    "build": "kssl.builder",
    "load_recipe": "kssl.recipe",
    "get_registry": "kssl.plugins",
    "PretextTask": "kssl.pretext.pretext_task",
    "Evaluator": "kssl.eval.evaluator",
    "load_model": "kssl.saving",
    "OnlineProbe": "kssl.monitors",
    "CollapseMonitor": "kssl.monitors",
    "export_embeddings": "kssl.embedding_export",
    "classifier": "kssl.transfer.classifier",
    "finetune": "kssl.finetune_run",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kssl' has no attribute {name!r}")


def _launched_as_cli() -> bool:
    first = _os.path.basename(_sys.argv[0]) if _sys.argv else ""
    return first in ("kssl", "-m") or _sys.argv[0].endswith(_os.path.join("kssl", "__main__.py"))


if not _launched_as_cli():
    from kssl.plugins import get_registry as _get_registry

    _get_registry()
