"""Argument checks shared by every component: bounds and messages."""

import pytest

from kssl.checks import check_number, check_positive, check_probability, check_range_pair
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


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize(
    "check",
    [
        lambda v: check_number("x", v),
        lambda v: check_number("x", v, low=0.0, high=1.0),
        lambda v: check_positive("x", v),
        lambda v: check_probability("x", v),
        lambda v: check_range_pair("x", [0.1, v]),
        lambda v: check_range_pair("x", [v, 1.0]),
    ],
)
def test_nan_and_infinity_fail_every_number_check_and_say_why(check, value):
    # NaN passes every `<`/`>` range test: each check refuses it explicitly and says so
    with pytest.raises(ArgumentError, match=r"^x: .*NaN and infinity are not allowed"):
        check(value)


def test_finite_numbers_have_no_nan_remark():
    with pytest.raises(ArgumentError) as info:
        check_positive("x", -1.0)
    assert "NaN" not in str(info.value) and "got -1.0" in str(info.value)
