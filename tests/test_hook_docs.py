"""Meta-tests: every hook in kssl/hookspecs.py is documented in docs/plugins.md and exercised by a test."""

import inspect
import re
from pathlib import Path

import pytest

from kssl import hookspecs

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "plugins.md"
SPEC_ATTRIBUTE = f"{hookspecs.PROJECT_NAME}_spec"


def _hooks():
    return {name: fn for name, fn in vars(hookspecs).items() if inspect.isfunction(fn) and hasattr(fn, SPEC_ATTRIBUTE)}


def _signature(name, fn):
    return f"{name}{inspect.signature(fn, eval_str=True)}"


def _documented():
    """``### `kssl_...(...)` `` headings of docs/plugins.md -> the text under them."""
    parts = re.split(r"^### ", DOCS.read_text(encoding="utf-8"), flags=re.M)
    return {m.group(1): part for part in parts[1:] if (m := re.match(r"`(kssl_\w+\(.*?\)(?: -> [^`]+)?)`", part))}


def test_there_are_hooks_to_check():
    assert "kssl_register" in _hooks()


@pytest.mark.parametrize("name", sorted(_hooks()))
def test_hook_is_documented_with_its_exact_signature(name):
    signature = _signature(name, _hooks()[name])
    documented = _documented()
    assert signature in documented, (
        f"docs/plugins.md has no '### `{signature}`' section; found {sorted(documented)}. Document when the hook runs, its arguments and what to return."
    )
    body = documented[signature]
    for part in ("When it runs", "Arguments", "Return"):
        assert part in body, f"docs/plugins.md: the {name} section does not say '{part}'."


def test_no_stale_hook_documentation():
    current = {_signature(n, f) for n, f in _hooks().items()}
    stale = set(_documented()) - current
    assert not stale, f"docs/plugins.md documents hooks that hookspecs.py does not define (or with another signature): {sorted(stale)}"


@pytest.mark.parametrize("name", sorted(_hooks()))
def test_hook_is_exercised_by_a_test(name):
    # A test implements the hook (a hookimpl of that name) and runs it through the plugin manager.
    users = [
        p.name
        for p in (ROOT / "tests").glob("test_*.py")
        if p.name != Path(__file__).name
        and re.search(rf"\b{name}\b", text := p.read_text(encoding="utf-8"))
        and "hookimpl" in text
        and "get_plugin_manager" in text
    ]
    assert users, f"no test implements and runs the hook {name}: add one (see tests/test_registry.py for kssl_register)."
