"""Check that a plugin's hook registers what it promises."""

from __future__ import annotations


def check_registered(kind: str, name: str, *, distribution: str | None = None, module=None):
    """Load plugins the way kssl does and return the registry entry for ``kind``/``name``.

    Without ``module`` the installed entry points are loaded (what ``kssl plugins``
    sees): pass ``distribution`` to also check which distribution provides the name,
    e.g. ``check_registered("pretext", "rotnet", distribution="kssl-rotnet")``.
    With ``module`` (your plugin module, not installed) only its hook is added to
    the built-ins. Fails if the plugin is reported broken or the name is ambiguous.
    """
    from kssl.plugins import get_plugin_manager

    # with a module: the module alone, even if its distribution is installed too (no entry points)
    _, registry = get_plugin_manager([] if module is None else [module], entry_points=module is None)
    provider = getattr(module, "__kssl_provider__", getattr(module, "__name__", None)) if module is not None else distribution
    broken = [b for b in registry.broken if b.provider == provider]
    assert not broken, "plugin(s) failed to load: " + "; ".join(f"{b.provider} ({b.name}): {b.reason}" for b in broken)
    entry = registry.entry(kind, name)  # a clear RegistryError for unknown or ambiguous names
    if distribution is not None:
        assert entry.provider == distribution, (
            f"{kind} {name!r} is provided by {entry.provider!r}, not {distribution!r}. "
            f"Is {distribution} installed (pip install ...) and its [project.entry-points.kssl] declared?"
        )
    return entry
