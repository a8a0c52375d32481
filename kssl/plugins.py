"""The plugin manager: built-in plugin modules plus ``kssl`` entry points, failures isolated.

Set ``KSSL_DISABLE_PLUGINS=1`` (or ``all``) to skip every entry point, or a
comma-separated list of entry-point or distribution names to skip only those.
"""

from __future__ import annotations

import importlib
import os
from importlib import metadata

import pluggy

from kssl import hookspecs
from kssl.registry import BrokenPlugin, Registry

# Built-in components enter through the same hook as third-party plugins.
BUILTIN_PLUGINS = (
    "kssl.builtins.core",
    "kssl.builtins.generative",
    "kssl.builtins.text",
    "kssl.builtins.clustering",
)

_REGISTRY: Registry | None = None


def _disabled() -> set[str] | bool:
    value = os.environ.get("KSSL_DISABLE_PLUGINS", "").strip()
    if value.lower() in ("1", "true", "yes", "all"):
        return True
    return {v.strip() for v in value.split(",") if v.strip()}


def _entry_points():
    return list(metadata.entry_points(group=hookspecs.PROJECT_NAME))


def _short_reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def get_plugin_manager(extra_plugins=()) -> tuple[pluggy.PluginManager, Registry]:
    """Load built-ins, entry points and ``extra_plugins`` (modules or objects) into a new registry."""
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    registry = Registry()
    providers: dict[int, tuple[str, str]] = {}  # id(plugin) -> (plugin name, distribution)

    for module_name in BUILTIN_PLUGINS:
        module = importlib.import_module(module_name)
        pm.register(module, name=module_name)
        providers[id(module)] = (module_name, "kssl")

    disabled = _disabled()
    if disabled is not True:
        for ep in _entry_points():
            dist = ep.dist.name if ep.dist is not None else ep.name
            if ep.name in disabled or dist in disabled:
                continue
            try:
                plugin = ep.load()
                pm.register(plugin, name=f"{dist}:{ep.name}")
            except Exception as exc:  # a broken plugin must not take kssl down
                registry.broken.append(BrokenPlugin(ep.name, dist, f"failed to import: {_short_reason(exc)}"))
                continue
            providers[id(plugin)] = (ep.name, dist)

    for i, plugin in enumerate(extra_plugins):
        name = getattr(plugin, "__name__", f"plugin-{i}")
        pm.register(plugin, name=f"extra:{name}:{i}")
        providers[id(plugin)] = (name, getattr(plugin, "__kssl_provider__", name))

    # Call each implementation on its own so that one failure is attributed and isolated.
    for impl in reversed(pm.hook.kssl_register.get_hookimpls()):
        name, dist = providers.get(id(impl.plugin), (impl.plugin_name, impl.plugin_name))
        registry._begin(dist)
        try:
            impl.function(registry=registry)
        except Exception as exc:
            registry._end(ok=False)
            registry.broken.append(BrokenPlugin(name, dist, f"kssl_register raised {_short_reason(exc)}"))
        else:
            registry._end(ok=True)
    return pm, registry


def get_registry() -> Registry:
    """The process-wide registry (loaded once, on first use)."""
    global _REGISTRY
    if _REGISTRY is None:
        _, _REGISTRY = get_plugin_manager()
    return _REGISTRY


def reset_registry() -> None:
    """Forget the cached registry (tests; after installing a plugin in-process)."""
    global _REGISTRY
    _REGISTRY = None
