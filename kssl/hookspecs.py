"""pluggy hook specifications for kssl (project name ``"kssl"``).

Every hook is documented in docs/plugins.md; ``tests/test_hook_docs.py`` fails
when a hook here is missing from the docs or from the tests.
"""

from __future__ import annotations

import pluggy

PROJECT_NAME = "kssl"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def kssl_register(registry) -> None:
    """Add components to ``registry`` with ``registry.add(kind, name, factory)``.

    Runs once per process, when kssl first needs its registry (after the Keras
    backend has been chosen). Return nothing. Raising marks this plugin as broken
    (its registrations are rolled back) without affecting other plugins.
    """
