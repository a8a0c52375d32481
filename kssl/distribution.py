"""Multi-device training: the recipe's ``distribution`` section -> a scope to build the model in."""

from __future__ import annotations

import contextlib

from kssl.errors import RecipeError

STRATEGIES = ("auto", "none")


@contextlib.contextmanager
def distribution_scope(spec: dict | None):
    """Build and compile models inside this context. ``auto`` and ``none`` use one device."""
    strategy = (spec or {}).get("strategy", "auto")
    if strategy not in STRATEGIES:
        raise RecipeError("distribution.strategy", f"expected one of {', '.join(STRATEGIES)}, got {strategy!r}.")
    yield
