"""A pytest plugin: under CI=true, a skip whose reason is not on the allow-list fails the run.

A skipped test passes silently: a missing optional dependency (``pytest.importorskip``) or a
``skipif`` that is true on every machine turns a check off without anyone noticing. In CI
(``CI`` set to ``true``, ``1`` or ``yes``) this plugin turns every such skip into a failure
(an error at setup or collection), naming the test, the reason and how to allow it.

The allow-list is the ini option ``kssl_allowed_skips``: one reason prefix per line, matched
against the skip reason (pyproject.toml lists the skips CI expects). Clear it with
``-o kssl_allowed_skips=`` where nothing may skip (.ci/torch). Outside CI nothing changes.

Loaded by tests/conftest.py (``pytest_plugins``, this folder on pyproject's ``pythonpath``);
elsewhere (a plugin's own test suite) with ``PYTHONPATH=.ci/pytest pytest -p kssl_skip_policy``.
"""

from __future__ import annotations

import os

import pytest

INI = "kssl_allowed_skips"


def pytest_addoption(parser):
    parser.addini(INI, "reason prefixes of the skips allowed under CI=true (one per line)", type="linelist", default=[])


def enforced() -> bool:
    """True in CI: the ``CI`` environment variable is ``true``, ``1`` or ``yes`` (GitHub Actions, GitLab, .ci/run)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def skip_reason(report) -> str:
    """The reason of a skipped test or collection report (pytest stores ``(path, line, 'Skipped: why')``)."""
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return reason.removeprefix("Skipped: ")


def _unexpected(report, config) -> str | None:
    """The failure message for a skip CI does not allow, or None when the report is not such a skip."""
    if not report.skipped or hasattr(report, "wasxfail") or not enforced():
        return None
    reason = skip_reason(report)
    allowed = [prefix for prefix in config.getini(INI) if prefix.strip()]
    if any(reason.startswith(prefix.strip()) for prefix in allowed):
        return None
    listed = ", ".join(repr(p) for p in allowed) or "nothing"
    return (
        f"unexpected skip under CI=true: {report.nodeid}: {reason!r}. A skipped check is a check that did not run: "
        "install what it needs in CI, make the test run everywhere, or delete it. If the skip is intended, add a prefix "
        f"of its reason to [tool.pytest.ini_options] {INI} in pyproject.toml (allowed now: {listed})."
    )


def _fail(report, message: str) -> None:
    report.outcome = "failed"
    report.longrepr = message


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    message = _unexpected(report, item.config)
    if message:
        _fail(report, message)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    message = _unexpected(report, collector.config)
    if message:  # a module-level importorskip: the whole file would vanish from the run
        _fail(report, message)
