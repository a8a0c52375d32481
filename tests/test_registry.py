"""Registry and plugin-manager behaviour, with in-process plugin objects.

Real installed distributions are exercised in tests/test_plugin_distributions.py.
"""

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
