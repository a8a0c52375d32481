"""kssl: a plugin-based Keras 3 toolkit for self-supervised learning.

``import kssl`` stays light (no Keras import) so that the CLI can choose the
Keras backend first; ``build`` and friends import Keras when called.
"""

from kssl.errors import ArgumentError, KsslError, RecipeError
from kssl.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = [
    "ArgumentError",
    "KsslError",
    "RecipeError",
    "__version__",
    "build",
    "get_registry",
    "hookimpl",
    "load_recipe",
]


def __getattr__(name):
    if name == "build":
        from kssl.builder import build

        return build
    if name == "load_recipe":
        from kssl.recipe import load_recipe

        return load_recipe
    if name == "get_registry":
        from kssl.plugins import get_registry

        return get_registry
    raise AttributeError(f"module 'kssl' has no attribute {name!r}")
