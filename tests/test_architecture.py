"""The shape of the core: an acyclic import graph, small modules, no capability probes."""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from import_graph import cycles, import_graph  # noqa: E402

MAX_LINES = 300


def test_the_import_graph_of_kssl_has_no_cycle():
    graph = import_graph()
    assert len(graph) > 50  # the scan found the package
    assert "kssl.factories" in graph["kssl.builder"]  # and reads function-level imports too
    assert cycles(graph) == []


def test_an_import_cycle_is_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_in_kssl_is_over_300_lines():
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / "kssl").rglob("*.py") if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"split these modules (one concept per file): {long}"


def test_no_hasattr_capability_probes_in_kssl():
    """Capabilities are declared on kssl.PretextTask and kssl.Evaluator; only the plugin loader checks a hook's presence."""
    probes = [
        f"{p.relative_to(ROOT)}:{i}"
        for p in (ROOT / "kssl").rglob("*.py")
        if p.name != "plugins.py" and "templates" not in p.parts
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bhasattr\(", line)
    ]
    assert not probes, f"hasattr probes: {probes}"
