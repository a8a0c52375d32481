"""Label budgets: which labeled training samples a few-shot, fine-tune or label-efficiency run may use.

A budget is a number of labels per class (``5``: five examples of every class) or a
fraction of each class (``0.1``: a tenth of every class, at least one). Draws are
stratified and seeded, so the same seed gives the same samples to every model compared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kssl.checks import check_int, check_number
from kssl.errors import ArgumentError, KsslError


@dataclass(frozen=True)
class LabelBudget:
    """``per_class`` labels of every class, or ``fraction`` of every class (exactly one is set)."""

    per_class: int | None = None
    fraction: float | None = None

    @property
    def key(self) -> str:
        """The budget's name in metric keys: ``5_per_class`` or ``frac_0.1``."""
        return f"{self.per_class}_per_class" if self.per_class is not None else f"frac_{self.fraction:g}"

    def counts(self, class_sizes: np.ndarray) -> np.ndarray:
        """Samples drawn from each class, given how many each class has."""
        if self.per_class is not None:
            return np.full(len(class_sizes), self.per_class)
        return np.maximum(1, np.ceil(self.fraction * class_sizes - 1e-9).astype(int))

    def mean_per_class(self, y) -> float:
        """The average labels per class this budget draws from labels ``y`` (the x axis of a label-efficiency curve)."""
        _, sizes = np.unique(np.asarray(y).astype(int), return_counts=True)
        return float(np.mean(self.counts(sizes)))

    def check(self, y, class_names=None) -> None:
        """Raise :class:`kssl.KsslError` naming the class when one has fewer samples than the budget asks for."""
        classes, sizes = np.unique(np.asarray(y).astype(int), return_counts=True)
        short = [(c, n, k) for c, n, k in zip(classes, sizes, self.counts(sizes)) if k > n]
        if short:
            c, n, k = short[0]
            name = f"{class_names[c]!r} (id {c})" if class_names is not None and c < len(class_names) else f"{c}"
            raise KsslError(
                f"a budget of {k} labels per class is larger than class {name}, which has {n} labeled training sample(s)"
                f"{f' ({len(short)} classes are too small)' if len(short) > 1 else ''}. Use at most {min(sizes)} labels per class, "
                "a label fraction, or more data."
            )

    def draw(self, y, seed: int) -> np.ndarray:
        """Sorted indices into ``y``: the budget's samples of every class, chosen with ``numpy.random.default_rng(seed)``."""
        y = np.asarray(y).astype(int)
        rng = np.random.default_rng(seed)
        classes, sizes = np.unique(y, return_counts=True)
        picked = [rng.choice(np.flatnonzero(y == c), size=k, replace=False) for c, k in zip(classes, self.counts(sizes))]
        return np.sort(np.concatenate(picked))


def label_budgets(name: str, labels_per_class=None, fractions=None) -> list[LabelBudget]:
    """The budgets of an evaluator argument pair, checked: counts are integers >= 1, fractions in (0, 1]."""
    budgets = []
    for k in _as_list(f"{name}.labels_per_class", labels_per_class):
        budgets.append(LabelBudget(per_class=check_int("labels_per_class", k, low=1)))
    for f in _as_list(f"{name}.fractions", fractions):
        check_number("fractions", f, low=0.0, high=1.0, low_inclusive=False)
        budgets.append(LabelBudget(fraction=float(f)))
    if not budgets:
        raise ArgumentError("labels_per_class", "expected at least one label budget (labels_per_class: [1, 5, 10] and/or fractions: [0.1]), got none.")
    return budgets


def _as_list(name: str, value) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return [value]
    raise ArgumentError(name.split(".")[-1], f"expected a number or a list of numbers, got {value!r}.")
