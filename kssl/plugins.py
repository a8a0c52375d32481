"""The plugin manager: built-in plugin modules plus ``kssl`` entry points, failures isolated.

Set ``KSSL_DISABLE_PLUGINS=1`` (or ``all``) to skip every entry point, or a
comma-separated list of entry-point or distribution names to skip only those.

Plugins can also ship zoo recipes: an entry point in the group ``kssl.zoo`` names a
folder inside an installed package by its dotted path (``rotnet = "kssl_rotnet.zoo"``);
every ``*.yaml`` there is a zoo recipe named after its file. The folder is found
without importing the plugin (recipes are read before the Keras backend is chosen).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from importlib import metadata
from pathlib import Path

import pluggy

from kssl import hookspecs
from kssl.registry import BrokenPlugin, Registry, short_reason

# Built-in components enter through the same hook as third-party plugins.
BUILTIN_PLUGINS = (
    "kssl.builtins.core",
    "kssl.builtins.generative",
    "kssl.builtins.text",
    "kssl.builtins.clustering",
    "kssl.builtins.multimodal",
    "kssl.builtins.audio",
)

_REGISTRY: Registry | None = None


def _disabled() -> set[str] | bool:
    value = os.environ.get("KSSL_DISABLE_PLUGINS", "").strip()
    if value.lower() in ("1", "true", "yes", "all"):
        return True
    return {v.strip() for v in value.split(",") if v.strip()}


def _entry_points():
    return list(metadata.entry_points(group=hookspecs.PROJECT_NAME))


def _enabled(entry_points):
    """``(entry point, distribution name)`` of each of ``entry_points`` that KSSL_DISABLE_PLUGINS leaves on."""
    disabled = _disabled()
    if disabled is True:
        return
    for ep in entry_points:
        dist = ep.dist.name if ep.dist is not None else ep.name
        if ep.name not in disabled and dist not in disabled:
            yield ep, dist


ZOO_GROUP = "kssl.zoo"


def _package_folder(dotted: str) -> Path | None:
    """The folder of ``package.sub.dir`` in an installed package, found without importing it."""
    top, *rest = dotted.strip().split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        folder = Path(location).joinpath(*rest)
        if folder.is_dir():
            return folder
    return None


def plugin_zoo_recipes() -> dict[str, tuple[Path, str]]:
    """Zoo recipes contributed by plugins: name -> (path, distribution). Disabled plugins are skipped."""
    recipes: dict[str, tuple[Path, str]] = {}
    for ep, dist in _enabled(metadata.entry_points(group=ZOO_GROUP)):
        folder = _package_folder(ep.value)
        for path in sorted(folder.glob("*.yaml")) if folder is not None else []:
            recipes.setdefault(path.stem, (path, dist))
    return recipes


def get_plugin_manager(extra_plugins=(), entry_points: bool = True) -> tuple[pluggy.PluginManager, Registry]:
    """Load built-ins, entry points (unless ``entry_points=False``) and ``extra_plugins`` (modules or objects) into a new registry."""
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    registry = Registry()
    providers: dict[int, tuple[str, str]] = {}  # id(plugin) -> (plugin name, distribution)

    for module_name in BUILTIN_PLUGINS:
        module = importlib.import_module(module_name)
        pm.register(module, name=module_name)
        providers[id(module)] = (module_name, "kssl")

    for ep, dist in _enabled(_entry_points() if entry_points else ()):
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken plugin must not take kssl down
            registry.broken.append(BrokenPlugin(ep.name, dist, f"failed to import: {short_reason(exc)}"))
            continue
        if getattr(getattr(plugin, "__spec__", None), "_initializing", False):
            # The plugin is still being imported (it imported kssl, whose import loads the
            # registry): its hook is not defined yet. Leave it out of this registry and do not
            # cache the registry, so the next get_registry() call sees the finished plugin.
            registry.incomplete = True
            continue
        if not hasattr(plugin, hookspecs.kssl_register.__name__):
            registry.broken.append(BrokenPlugin(ep.name, dist, f"{ep.value} defines no kssl_register hook"))
            continue
        pm.register(plugin, name=f"{dist}:{ep.name}")
        providers[id(plugin)] = (ep.name, dist)

    for i, plugin in enumerate(extra_plugins):
        name = getattr(plugin, "__name__", f"plugin-{i}")
        pm.register(plugin, name=f"extra:{name}:{i}")
        providers[id(plugin)] = (name, getattr(plugin, "__kssl_provider__", name))

    # Call each implementation on its own so that one failure is attributed and isolated, in
    # registration order: built-ins first, so a plugin re-registering a built-in name is the
    # one reported as the second provider.
    for impl in pm.hook.kssl_register.get_hookimpls():
        name, dist = providers.get(id(impl.plugin), (impl.plugin_name, impl.plugin_name))
        registry._begin(dist)
        try:
            impl.function(registry=registry)
        except Exception as exc:
            registry._end(ok=False)
            registry.broken.append(BrokenPlugin(name, dist, f"kssl_register raised {short_reason(exc)}"))
        else:
            registry._end(ok=True)
    return pm, registry


def get_registry(import_components: bool = True) -> Registry:
    """The process-wide registry (loaded once, on first use).

    With ``import_components`` (the default) every lazily registered component is imported
    too, so that ``keras.models.load_model`` finds their serialisable classes without
    ``custom_objects``. ``import_components=False`` only lists names, kinds and providers:
    it imports no built-in component (nor Keras), only the plugins' hook modules.
    """
    global _REGISTRY
    registry = _REGISTRY
    if registry is None:
        _, registry = get_plugin_manager()
        if not registry.incomplete:
            _REGISTRY = registry
    if import_components:
        registry.load_all()
    return registry
