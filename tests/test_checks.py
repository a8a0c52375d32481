"""Argument checks shared by every component: bounds and messages."""

import pytest

from kssl.checks import check_range_pair
from kssl.errors import ArgumentError


def test_range_pair_bounds_inclusive_and_exclusive():
    assert check_range_pair("r", [0, 1], low=0.0, high=1.0) == (0.0, 1.0)
    assert check_range_pair("r", [0.5, 1], low=0.0, high=1.0, low_inclusive=False) == (0.5, 1.0)
    with pytest.raises(ArgumentError, match=r"r: expected area fractions within \(0.0, 1.0\], got \[0.0, 1.0\]; use e.g. \[0.08, 1.0\]"):
        check_range_pair("r", [0.0, 1.0], low=0.0, high=1.0, low_inclusive=False, what="area fractions", example="[0.08, 1.0]")
    with pytest.raises(ArgumentError, match=r"within \[0.0, 1.0\]"):
        check_range_pair("r", [-0.1, 1.0], low=0.0, high=1.0)
    with pytest.raises(ArgumentError, match=r"within"):
        check_range_pair("r", [0.1, 1.5], low=0.0, high=1.0)
    with pytest.raises(ArgumentError, match=r"low <= high"):
        check_range_pair("r", [0.9, 0.1])
    with pytest.raises(ArgumentError, match=r"pair of numbers"):
        check_range_pair("r", [0.9])
