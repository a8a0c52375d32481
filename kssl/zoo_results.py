"""A zoo recipe's recorded ``results`` checked against a run's metrics, each within its ``tolerances``.

A recipe records what a full run measured (``results: {metric: value}``) and how far a re-run may
land from it (``tolerances: {metric: absolute tolerance}``, with an optional ``default`` entry for
the metrics not listed). ``benchmarks/zoo_check.py`` re-runs the zoo and uses these functions;
``tests/test_zoo.py`` checks that every recorded metric has a tolerance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT = "default"


@dataclass(frozen=True)
class MetricCheck:
    """One recorded metric against a run: ``ok`` when ``|measured - recorded| <= tolerance``."""

    metric: str
    recorded: float
    measured: float | None
    tolerance: float | None

    @property
    def ok(self) -> bool:
        if self.tolerance is None or self.measured is None or not math.isfinite(self.measured):
            return False
        return abs(self.measured - self.recorded) <= self.tolerance + 1e-12  # recorded values are rounded decimals

    @property
    def reason(self) -> str:
        if self.tolerance is None:
            return "no tolerance: add it under tolerances: (or a tolerances.default)"
        if self.measured is None:
            return "the run did not report this metric"
        if self.ok:
            return "ok"
        return f"off by {self.measured - self.recorded:+.4f}, tolerance {self.tolerance:g}"


def recorded_results(recipe) -> dict[str, float]:
    """The recipe's recorded scalar results (nested notes, lists and strings are not metrics)."""
    results = recipe.get("results") or {}
    return {k: float(v) for k, v in results.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def tolerance_for(recipe, metric: str) -> float | None:
    """The absolute tolerance of ``metric``: its own entry, else ``tolerances.default``, else None."""
    tolerances = recipe.get("tolerances") or {}
    value = tolerances.get(metric, tolerances.get(DEFAULT))
    return None if value is None else float(value)


def missing_tolerances(recipe) -> list[str]:
    """Recorded metrics with no tolerance (neither their own nor a default): an error in a zoo recipe."""
    return sorted(m for m in recorded_results(recipe) if tolerance_for(recipe, m) is None)


def check_results(recipe, measured: dict) -> list[MetricCheck]:
    """Every recorded metric of ``recipe`` against ``measured`` (metrics.json's ``metrics``), in recipe order."""
    return [
        MetricCheck(metric, recorded, _number(measured.get(metric)), tolerance_for(recipe, metric)) for metric, recorded in recorded_results(recipe).items()
    ]


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
