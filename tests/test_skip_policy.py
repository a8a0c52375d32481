"""Under CI=true an unexpected skip fails the run (.ci/pytest/kssl_skip_policy.py); outside CI it is a skip.

Each case runs pytest in a subprocess on a tiny test file in a temporary folder, loading the
policy as CI loads it for a plugin's own suite (``PYTHONPATH=.ci/pytest pytest -p kssl_skip_policy``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
POLICY_DIR = REPO / ".ci" / "pytest"

SKIPPING = """
import pytest

def test_passes():
    pass

def test_skips_for_a_missing_dependency():
    pytest.skip("a dependency is missing")

def test_skips_for_an_allowed_reason():
    pytest.skip("allowed reason: this one may skip")

@pytest.mark.skipif(True, reason="true on every machine")
def test_skipif_true_everywhere():
    pass

@pytest.mark.xfail(reason="a known bug", strict=True)
def test_expected_failure():
    assert False
"""


def _pytest(folder: Path, ci: str | None, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(POLICY_DIR), env.get("PYTHONPATH")) if p)
    if ci is not None:
        env["CI"] = ci
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "kssl_skip_policy", "-rA", "-c", "pytest.ini", *args]
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\nkssl_allowed_skips =\n    allowed reason\n", encoding="utf-8")
    (tmp_path / "test_skipping.py").write_text(textwrap.dedent(SKIPPING), encoding="utf-8")
    return tmp_path


def test_outside_ci_skips_stay_skips(folder):
    result = _pytest(folder, None, "test_skipping.py")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "1 passed, 3 skipped, 1 xfailed" in result.stdout, result.stdout[-3000:]
    assert "unexpected skip" not in result.stdout


def test_under_ci_an_unexpected_skip_fails_the_run(folder):
    result = _pytest(folder, "true", "test_skipping.py")
    out = result.stdout
    assert result.returncode == 1, out[-3000:]
    # the skip in the test body fails; the skipif (at setup) is an error; the allowed skip and the xfail stay as they are
    assert "1 failed, 1 passed, 1 skipped, 1 xfailed, 1 error" in out, out[-3000:]
    assert "FAILED test_skipping.py::test_skips_for_a_missing_dependency" in out
    assert "ERROR test_skipping.py::test_skipif_true_everywhere" in out
    assert re.search(r"SKIPPED \[1\] test_skipping.py:\d+: allowed reason: this one may skip", out)
    assert "unexpected skip under CI=true: test_skipping.py::test_skips_for_a_missing_dependency: 'a dependency is missing'" in out
    assert "kssl_allowed_skips" in out and "allowed now: 'allowed reason'" in out


def test_under_ci_a_cleared_allow_list_allows_nothing(folder):
    result = _pytest(folder, "1", "-o", "kssl_allowed_skips=", "test_skipping.py::test_skips_for_an_allowed_reason")
    assert result.returncode == 1 and "1 failed" in result.stdout, result.stdout[-3000:]
    assert "allowed now: nothing" in result.stdout


def test_under_ci_a_module_level_importorskip_fails_collection(folder):
    (folder / "test_optional.py").write_text(
        'import pytest\n\npytest.importorskip("kssl_no_such_module")\n\n\ndef test_never_runs():\n    pass\n', encoding="utf-8"
    )
    outside = _pytest(folder, None, "test_optional.py")
    assert outside.returncode == 5 and "1 skipped" in outside.stdout, outside.stdout[-3000:]
    result = _pytest(folder, "true", "test_optional.py")
    assert result.returncode == 2 and "1 error" in result.stdout, result.stdout[-3000:]
    assert "unexpected skip under CI=true: test_optional.py: \"could not import 'kssl_no_such_module'" in result.stdout


def test_this_suite_loads_the_policy(pytestconfig):
    """tests/conftest.py registers it for the core suite; pyproject.toml allows no skip by default."""
    assert pytestconfig.pluginmanager.has_plugin("kssl_skip_policy")
    assert pytestconfig.getini("kssl_allowed_skips") == []
