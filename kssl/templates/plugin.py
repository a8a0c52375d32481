"""``kssl new-plugin NAME --kind KIND``: a working plugin distribution whose tests pass out of the box.

The skeleton registers one example component of the chosen kind (to be replaced by
the author's) through the ``kssl`` entry point, ships a zoo recipe that uses it through
the ``kssl.zoo`` entry point, and tests both with :mod:`kssl.testing`. The files every
kind shares are in :mod:`kssl.templates.common`; each kind's own in
``kssl.templates.<kind>``.
"""

from __future__ import annotations

import ast
import importlib
import json
import keyword
import re
from pathlib import Path
from string import Template

from kssl import __version__
from kssl.errors import KsslError
from kssl.registry import KINDS
from kssl.templates.common import SHARED_FILES, Scaffold
from kssl.zoo_recipes import zoo_recipes

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
DEFAULT_KIND = "augmenter"
PLACEHOLDER = "placeholder_zz"  # stands for NAME when collecting the names the generated code uses


def scaffold(kind: str) -> Scaffold:
    """The :class:`~kssl.templates.common.Scaffold` of ``kind``, one of the registry's :data:`~kssl.registry.KINDS`."""
    if kind not in KINDS:
        raise KsslError(f"new-plugin --kind: unknown kind {kind!r}; expected one of {', '.join(KINDS)}.")
    return importlib.import_module(f"kssl.templates.{kind}").SCAFFOLD


def _check_name(name) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.match(name) or keyword.iskeyword(name):
        raise KsslError(
            f"new-plugin NAME: expected a lowercase Python identifier such as 'sharpen' or 'my_task' "
            f"(letters, digits, underscores; starting with a letter; not a Python keyword), got {name!r}."
        )
    return name


def _identifiers(sources) -> set[str]:
    """Every name the Python ``sources`` bind or read (variables, arguments, functions, classes, imports)."""
    names = set()
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.alias):
                names.add((node.asname or node.name).split(".")[0])
    return names


def _check_no_shadowing(values: dict) -> None:
    """Refuse a NAME whose component (function or class) would hide a name the generated code uses (``keras``, ``sum``)."""
    placeholder_files = _render(plugin_values(PLACEHOLDER, values["kind"]))
    used = _identifiers(text for path, text in placeholder_files.items() if path.endswith(".py"))
    if values["symbol"] in used:
        raise KsslError(
            f"new-plugin NAME: the generated {values['kind']} code uses the name {values['symbol']!r} itself, and the "
            f"component of that name would hide it; choose another NAME."
        )


def _check_zoo_name(name: str) -> None:
    existing = zoo_recipes().get(name)
    if existing is not None:
        raise KsslError(
            f"new-plugin: a zoo recipe named {name!r} already exists ({existing}), so `kssl train {name}` "
            f"would not run the plugin's recipe; choose another NAME."
        )


def check_unregistered(registry, kind: str, name: str) -> None:
    """Raise :class:`KsslError` if ``registry`` already has a ``kind`` called ``name`` (a second would be ambiguous)."""
    providers = [e.provider for e in registry.entries() if (e.kind, e.name) == (kind, name)]
    if providers:
        raise KsslError(
            f"new-plugin: {providers[0]} already provides the {kind} {name!r}; a plugin registering it again "
            f"would make `type: {name}` ambiguous in recipes; choose another NAME."
        )


def plugin_values(name: str, kind: str) -> dict:
    """The names a skeleton's templates use, from NAME and the kind."""
    cls = "".join(part.capitalize() for part in name.split("_"))
    return {
        "name": name,
        "kind": kind,
        "dist": f"kssl-{name.replace('_', '-')}",
        "package": f"kssl_{name}",
        "cls": cls,
        "symbol": cls if scaffold(kind).is_class else name,
        "title": name.replace("_", " ").capitalize(),
        "kssl_version": __version__,
    }


def render_plugin(name: str, kind: str = DEFAULT_KIND, output_dir=".") -> tuple[Path, dict[str, str]]:
    """``(root, {relative path: text})`` of the skeleton, checked but not written.

    Raises :class:`KsslError` for a bad NAME or kind, an existing ``root`` folder, or
    a zoo recipe of the same name (all checked without importing Keras).
    """
    values = plugin_values(_check_name(name), kind)
    _check_no_shadowing(values)
    root = Path(output_dir) / values["dist"]
    if root.exists():
        raise KsslError(f"new-plugin: {str(root)!r} already exists; choose another NAME or --output-dir, or remove it first.")
    _check_zoo_name(name)
    return root, _render(values)


def _render(values: dict) -> dict[str, str]:
    """``{relative path: text}``: the templates of ``values["kind"]`` filled in with ``values``."""
    spec = scaffold(values["kind"])
    snippets = {key: Template(getattr(spec, key)).substitute(values) for key in ("summary", "usage", "develop", "smoke_check")}
    snippets["smoke_overrides"] = json.dumps(list(spec.smoke_overrides))
    texts = {
        **SHARED_FILES,
        "src/$package/$name.py": spec.component,
        "src/$package/zoo/$name.yaml": spec.recipe,
        "tests/test_$name.py": spec.tests,
    }
    everything = {**values, **snippets}
    return {Template(path).substitute(values): Template(text).substitute(everything) for path, text in texts.items()}


def write_plugin_skeleton(name: str, output_dir=".", kind: str = DEFAULT_KIND, registry=None) -> Path:
    """Write ``<output_dir>/kssl-<name>/`` with an example ``kind`` component and return its path.

    ``name`` is a lowercase identifier (``sharpen``, ``my_task``): the component, entry-point
    and zoo-recipe name. The distribution is ``kssl-<name>`` (underscores become dashes), the
    package ``kssl_<name>``, a component class ``<Name>`` (``MyTask``) and a factory function
    ``<name>``. Given a ``registry`` (:func:`kssl.get_registry`), a ``kind`` of that name that
    is already registered is refused too.
    """
    root, files = render_plugin(name, kind, output_dir)
    if registry is not None:
        check_unregistered(registry, kind, name)
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
