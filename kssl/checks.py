"""Argument checks for component constructors; each raises :class:`kssl.errors.ArgumentError`.

Use them at the top of ``__init__`` so that a bad recipe value is reported with
its key path, what was expected, and what was received::

    check_positive("temperature", temperature)
"""

from __future__ import annotations

import math
import numbers

from kssl.errors import ArgumentError

__all__ = ["check_bool", "check_choice", "check_int", "check_number", "check_positive", "check_probability", "check_range_pair", "check_widths"]


def _is_number(value) -> bool:
    """A real, finite number (NaN and infinity are bad input: they pass every ``<``/``>`` range check)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _non_finite(value) -> str:
    """`` (NaN and infinity are not allowed)`` for a NaN or infinite real, else empty: said where a number is refused."""
    finite = not isinstance(value, numbers.Real) or isinstance(value, bool) or math.isfinite(value)
    return "" if finite else " (NaN and infinity are not allowed)"


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_number(name, value, *, low=None, high=None, low_inclusive=True, high_inclusive=True):
    """A real number in an optional range; returns it as float."""
    if not _is_number(value):
        raise ArgumentError(name, f"expected a number, got {value!r}{_non_finite(value)}. Write a plain number such as 0.5.")
    if low is not None and (value < low or (value == low and not low_inclusive)):
        bound = f">= {low}" if low_inclusive else f"> {low}"
        raise ArgumentError(name, f"expected a number {bound}, got {value!r}.")
    if high is not None and (value > high or (value == high and not high_inclusive)):
        bound = f"<= {high}" if high_inclusive else f"< {high}"
        raise ArgumentError(name, f"expected a number {bound}, got {value!r}.")
    return float(value)


def check_positive(name, value):
    """A number > 0."""
    if not _is_number(value) or value <= 0:
        raise ArgumentError(name, f"expected a positive number, got {value!r}{_non_finite(value)}.")
    return float(value)


def check_probability(name, value):
    """A number in [0, 1]."""
    return check_number(name, value, low=0.0, high=1.0)


def check_int(name, value, *, low=None, high=None):
    """An integer in an optional inclusive range."""
    if not _is_int(value):
        raise ArgumentError(name, f"expected an integer, got {value!r}. Write a whole number such as 3.")
    if low is not None and value < low:
        raise ArgumentError(name, f"expected an integer >= {low}, got {value!r}.")
    if high is not None and value > high:
        raise ArgumentError(name, f"expected an integer <= {high}, got {value!r}.")
    return int(value)


def check_bool(name, value):
    if not isinstance(value, bool):
        raise ArgumentError(name, f"expected true or false, got {value!r}.")
    return value


def check_choice(name, value, choices):
    """One of ``choices`` (with a did-you-mean)."""
    from kssl.errors import did_you_mean

    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ArgumentError(name, f"expected one of {listed}, got {value!r}.{did_you_mean(value, choices)}")
    return value


def check_range_pair(name, value, *, low=None, high=None, low_inclusive=True, what="values", example=None):
    """A pair ``[a, b]`` of numbers with ``a <= b`` inside optional bounds; returns a tuple of floats.

    ``low_inclusive=False`` excludes ``low`` itself (e.g. positive scales); ``what``
    names the values and ``example`` a valid pair in the error message.
    """
    hint = f"; use e.g. {example}" if example is not None else ""
    if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(_is_number(v) for v in value):
        bad = next((_non_finite(v) for v in value if _non_finite(v)), "") if isinstance(value, (list, tuple)) else ""
        raise ArgumentError(name, f"expected a pair of numbers [low, high], got {value!r}{bad}{hint}.")
    a, b = float(value[0]), float(value[1])
    if a > b:
        raise ArgumentError(name, f"expected low <= high, got {list(value)!r}{hint}.")
    below = low is not None and (a < low if low_inclusive else a <= low)
    if below or (high is not None and b > high):
        bounds = f"{'[' if low_inclusive else '('}{low}, {high}]"
        raise ArgumentError(name, f"expected {what} within {bounds}, got {list(value)!r}{hint}.")
    return (a, b)


def check_widths(name, value):
    """A list of layer widths (integers >= 1, possibly empty, e.g. ``[256]``); returns a list of ints."""
    if not isinstance(value, (list, tuple)):
        raise ArgumentError(name, f"expected a list of layer widths such as [256] (or [] for none), got {value!r}.")
    return [check_int(name, d, low=1) for d in value]
