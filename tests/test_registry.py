"""Registry and plugin-manager behaviour, with in-process plugin objects.

Real installed distributions are exercised in tests/test_plugin_distributions.py.
"""

import importlib
import sys
import types

import pytest

import kssl
from kssl.errors import KsslError
from kssl.plugins import get_plugin_manager
from kssl.registry import Registry, RegistryError


def _plugin(name, register, provider=None):
    module = types.ModuleType(name)
    module.kssl_register = kssl.hookimpl(register)
    module.__kssl_provider__ = provider or name
    return module


class Thing:
    def __init__(self, size: int = 1):
        self.size = size


def test_builtins_are_registered_through_the_hook():
    _, registry = get_plugin_manager()
    assert "simclr" in registry.names("pretext")
    assert registry.entry("pretext", "simclr").provider == "kssl"


def test_extra_plugin_adds_a_component():
    _, registry = get_plugin_manager([_plugin("mine", lambda registry: registry.add("pretext", "thing", Thing), "kssl-thing")])
    entry = registry.entry("pretext", "thing")
    assert entry.factory is Thing and entry.provider == "kssl-thing"


def test_unknown_name_suggests_the_close_one():
    registry = Registry()
    registry.add("encoder", "resnet", Thing)
    with pytest.raises(RegistryError, match="unknown encoder 'resnt'. Did you mean 'resnet'"):
        registry.get("encoder", "resnt")


def test_duplicate_names_both_providers():
    first = _plugin("a", lambda registry: registry.add("encoder", "twin", Thing), "kssl-alpha")
    second = _plugin("b", lambda registry: registry.add("encoder", "twin", lambda **kw: None), "kssl-beta")
    _, registry = get_plugin_manager([first, second])
    with pytest.raises(RegistryError) as info:
        registry.get("encoder", "twin")
    assert "kssl-alpha" in str(info.value) and "kssl-beta" in str(info.value)


def test_one_plugin_registering_a_name_twice_is_its_own_error_not_a_conflict():
    def twice(registry):
        registry.add("encoder", "twin", Thing)
        registry.add("encoder", "twin", Thing)  # the same factory again: harmless

    _, registry = get_plugin_manager([_plugin("a", twice, "kssl-alpha")])
    assert registry.get("encoder", "twin") is Thing

    def clash(registry):
        registry.add("encoder", "twin", Thing)
        registry.add("encoder", "twin", lambda **kw: None)

    _, registry = get_plugin_manager([_plugin("b", clash, "kssl-beta")])
    [broken] = [b for b in registry.broken if b.provider == "kssl-beta"]
    assert "already registered a different encoder" in broken.reason and "Thing" in broken.reason
    with pytest.raises(RegistryError, match="unknown encoder 'twin'.*kssl-beta"):
        registry.get("encoder", "twin")  # rolled back; the error points at the plugin, not at a conflict with itself
    direct = Registry()
    direct.add("encoder", "twin", Thing)
    with pytest.raises(RegistryError, match="'kssl' already registered a different encoder"):
        direct.add("encoder", "twin", lambda **kw: None)


def test_raising_hook_is_isolated_and_rolled_back():
    def register(registry):
        registry.add("encoder", "half_done", Thing)
        raise RuntimeError("boom: missing weights file")

    _, registry = get_plugin_manager([_plugin("bad", register, "kssl-bad")])
    assert "half_done" not in registry.names("encoder")
    assert "simclr" in registry.names("pretext")  # everything else still works
    [broken] = [b for b in registry.broken if b.provider == "kssl-bad"]
    assert "RuntimeError: boom" in broken.reason
    with pytest.raises(RegistryError, match="kssl-bad"):
        registry.get("encoder", "half_done")  # the error points at the failed plugin


@pytest.mark.parametrize(
    "args, message",
    [(("encoder", "x", 42), "must be callable"), (("gadget", "x", Thing), "unknown kind 'gadget'"), (("encoder", "bad name", Thing), "identifier")],
)
def test_bad_registrations_are_rejected(args, message):
    with pytest.raises(RegistryError, match=message):
        Registry().add(*args)


def test_new_kinds_can_be_declared():
    registry = Registry()
    registry.add_kind("callback")
    registry.add("callback", "ema", Thing)
    assert registry.names("callback") == ["ema"]


def test_registry_errors_are_user_errors():
    assert issubclass(RegistryError, KsslError)


def test_entry_point_loading_can_be_disabled(monkeypatch):
    calls = []

    class FakeEP:
        name, dist = "fake", None

        def load(self):
            calls.append(1)
            raise ImportError("no module named fake_plugin")

    monkeypatch.setattr("kssl.plugins._entry_points", lambda: [FakeEP()])
    _, registry = get_plugin_manager()
    assert [b.name for b in registry.broken] == ["fake"] and "failed to import" in registry.broken[0].reason
    monkeypatch.setenv("KSSL_DISABLE_PLUGINS", "1")
    _, registry = get_plugin_manager()
    assert registry.broken == [] and len(calls) == 1


# -- lazy references: "package.module:attribute", imported on first use ---------------------


@pytest.fixture
def lazy_module(tmp_path, monkeypatch):
    """A module ``kssl_lazy_thing`` on sys.path, not yet imported; removed from sys.modules afterwards."""
    (tmp_path / "kssl_lazy_thing.py").write_text("class Thing:\n    def __init__(self, size: int = 1):\n        self.size = size\n\nNOT_CALLABLE = 3\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "kssl_lazy_thing", raising=False)
    yield "kssl_lazy_thing"
    sys.modules.pop("kssl_lazy_thing", None)


def test_a_lazy_reference_is_listed_without_importing_and_imported_once_on_first_use(lazy_module):
    _, registry = get_plugin_manager([_plugin("lazy", lambda registry: registry.add("pretext", "thing", f"{lazy_module}:Thing"), "kssl-lazy")])
    assert "thing" in registry.names("pretext") and registry.entry("pretext", "thing").provider == "kssl-lazy"
    assert lazy_module not in sys.modules  # listing names and providers imported nothing
    factory = registry.get("pretext", "thing")
    assert lazy_module in sys.modules and factory is sys.modules[lazy_module].Thing and factory(size=3).size == 3
    assert not registry.entry("pretext", "thing").lazy and registry.get("pretext", "thing") is factory  # cached


@pytest.mark.parametrize(
    ("reference", "reason"),
    [("kssl_no_such_module_xyz:Thing", "ModuleNotFoundError: No module named 'kssl_no_such_module_xyz'"), ("{module}:Missing", "AttributeError")],
)
def test_a_lazy_reference_that_cannot_be_imported_names_its_provider_component_and_error(lazy_module, reference, reason):
    registry = Registry()
    registry._begin("kssl-broken")
    registry.add("pretext", "thing", reference.format(module=lazy_module))
    registry._end(ok=True)
    for _ in range(2):  # not cached as a success: every use reports it
        with pytest.raises(RegistryError) as info:
            registry.get("pretext", "thing")
        message = str(info.value)
        assert "pretext 'thing'" in message and "'kssl-broken'" in message and reason in message, message
        assert "KSSL_DISABLE_PLUGINS=kssl-broken" in message
    registry.load_all()  # importing everything up front skips it; get() still reports it
    assert registry.entry("pretext", "thing").lazy


def test_a_lazy_reference_to_something_not_callable_is_reported_on_use(lazy_module):
    registry = Registry()
    registry.add("encoder", "three", f"{lazy_module}:NOT_CALLABLE")
    with pytest.raises(RegistryError, match="encoder 'three'.*is not callable.*int 3"):
        registry.get("encoder", "three")


@pytest.mark.parametrize("reference", ["kssl_lazy_thing.Thing", "kssl_lazy_thing:", ":Thing", "not a module:Thing", "a..b:Thing"])
def test_a_malformed_reference_is_rejected_when_added_and_the_plugin_rolled_back(reference):
    def register(registry):
        registry.add("encoder", "fine", Thing)
        registry.add("encoder", "bad_ref", reference)

    _, registry = get_plugin_manager([_plugin("badref", register, "kssl-badref")])
    assert "fine" not in registry.names("encoder") and "bad_ref" not in registry.names("encoder")
    [broken] = [b for b in registry.broken if b.provider == "kssl-badref"]
    assert "'package.module:attribute'" in broken.reason


def test_a_reference_and_the_object_it_names_are_one_registration_not_a_conflict(lazy_module):
    reference = f"{lazy_module}:Thing"

    def register_object(registry):
        registry.add("encoder", "thing", importlib.import_module(lazy_module).Thing)

    first = _plugin("a", lambda registry: registry.add("encoder", "thing", reference), "kssl-alpha")
    _, registry = get_plugin_manager([first, _plugin("b", register_object, "kssl-beta")])
    assert registry.get("encoder", "thing") is sys.modules[lazy_module].Thing  # no conflict
    twice = _plugin("c", lambda registry: [registry.add("encoder", "thing", reference), registry.add("encoder", "thing", reference)], "kssl-c")
    _, registry = get_plugin_manager([twice])
    assert not registry.broken and registry.entry("encoder", "thing").provider == "kssl-c"


def test_two_different_references_under_one_name_conflict_naming_both_providers(lazy_module):
    first = _plugin("a", lambda registry: registry.add("encoder", "twin", f"{lazy_module}:Thing"), "kssl-alpha")
    second = _plugin("b", lambda registry: registry.add("encoder", "twin", "kssl_other_xyz:Thing"), "kssl-beta")
    _, registry = get_plugin_manager([first, second])
    with pytest.raises(RegistryError, match="'kssl-alpha' and 'kssl-beta'"):
        registry.get("encoder", "twin")
    assert lazy_module not in sys.modules  # found ambiguous from the names alone
    clash = _plugin("c", lambda registry: [registry.add("encoder", "twin", f"{lazy_module}:Thing"), registry.add("encoder", "twin", Thing)], "kssl-c")
    _, registry = get_plugin_manager([clash])
    [broken] = registry.broken
    assert f"already registered a different encoder under this name ({lazy_module}:Thing)" in broken.reason


def test_builtins_register_lazily_and_every_reference_resolves():
    _, registry = get_plugin_manager(entry_points=False)
    builtins = [e for e in registry.entries() if e.provider == "kssl"]
    assert builtins and all(e.lazy for e in builtins)  # the hooks import no component module
    for entry in builtins:
        reference = entry.target
        factory = entry.factory  # a typo in a reference fails here
        assert f"{factory.__module__}:{factory.__qualname__}" == reference  # it names its class or function directly


def test_get_registry_imports_every_component_for_keras_deserialisation():
    from kssl.plugins import get_registry

    assert not any(e.lazy for e in get_registry().entries())


def test_a_built_in_reference_that_cannot_be_imported_asks_for_a_reinstall_not_a_disable():
    registry = Registry()  # outside a plugin's hook the provider is kssl itself
    registry.add("encoder", "gone", "kssl.encoders.no_such_module_xyz:gone")
    with pytest.raises(RegistryError) as info:
        registry.get("encoder", "gone")
    assert "provided by 'kssl'" in str(info.value) and "Reinstall kssl" in str(info.value) and "KSSL_DISABLE_PLUGINS" not in str(info.value)
