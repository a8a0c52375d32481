"""The declared public API: it exists, it is documented in docs/api.md, and plugins use nothing else."""

import ast
import importlib
from pathlib import Path

import pytest

import kssl

ROOT = Path(__file__).resolve().parents[1]
API_DOC = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
PUBLIC_MODULES = ["kssl.checks", "kssl.errors", "kssl.heads", "kssl.losses", "kssl.inference", "kssl.data", "kssl.testing", "kssl.viz"]
# What a plugin may import besides the public modules: the registration marker's module, and
# component modules named in docs (a plugin reusing a built-in component class).
ALLOWED = {"kssl", *PUBLIC_MODULES}


@pytest.mark.parametrize("name", kssl.__all__)
def test_every_top_level_name_exists_and_is_documented(name):
    assert getattr(kssl, name) is not None
    assert name == "__version__" or f"kssl.{name}" in API_DOC, f"docs/api.md does not document kssl.{name}"


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_every_public_module_declares_and_documents_its_names(module):
    mod = importlib.import_module(module)
    assert hasattr(mod, "__all__"), f"{module} has no __all__"
    assert f"`{module}`" in API_DOC, f"docs/api.md has no row for {module}"
    for name in mod.__all__:
        assert getattr(mod, name) is not None
        assert f"`{name}" in API_DOC, f"docs/api.md does not list {module}.{name}"


def _kssl_imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "kssl" and not node.level:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.split(".")[0] == "kssl")


@pytest.mark.parametrize("path", sorted((ROOT / "plugins").glob("*/src/**/*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_first_party_plugins_import_only_the_public_api(path):
    private = sorted(set(_kssl_imports(path)) - ALLOWED)
    assert not private, f"{path.relative_to(ROOT)} imports private kssl modules {private}; use the public API (docs/api.md)"
