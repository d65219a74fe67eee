"""model.header_values: every broken header number is None, every good one its floats.

These conversions run per value per slice in every stack split and volume (their cost is
measured in benchmarks/compare_commits.py, by instruction counts); this pins what they
return, whatever way they are written.
"""

from __future__ import annotations

import math

import pytest

from rawdicom.model.header_values import (MAX_COSINE, MAX_POSITION, MAX_SPACING, MIN_SPACING,
                                          finite_floats, orientation, pixel_spacing, position,
                                          positive_float, spacing, unit_vector)


@pytest.mark.parametrize("value, count, expected", [
    ([1, "2.5", 3.0], 3, (1.0, 2.5, 3.0)),       # ints, text that parses, floats
    ((0.0, -0.0), 2, (0.0, -0.0)),
    (7, 1, (7.0,)),                               # a single value as a 1-tuple
    ([True, 2], 2, (1.0, 2.0)),                   # float() of a bool, as float() gives it
    (None, 3, None),
    ([1.0, 2.0], 3, None),                        # another count
    ([1.0, "abc", 3.0], 3, None),                 # text that did not decode
    ([1.0, None, 3.0], 3, None),
    ([1.0, b"\x00", 3.0], 3, None),
    ([1.0, math.nan, 3.0], 3, None),
    ([1.0, -math.inf, 3.0], 3, None),
    ([1.0, "inf", 3.0], 3, None),
    ([1.0, 10 ** 400, 3.0], 3, None),             # an IS of 400 digits: OverflowError in float()
    ([1.0, 1e308, 3.0], 3, (1.0, 1e308, 3.0)),    # finite: range is position()'s to check
])
def test_finite_floats(value: object, count: int, expected: object) -> None:
    assert finite_floats(value, count) == expected


def test_ranges_are_inclusive_and_checked_on_every_value() -> None:
    assert position([MAX_POSITION, -MAX_POSITION, 0]) == (MAX_POSITION, -MAX_POSITION, 0.0)
    assert position([0, 0, MAX_POSITION * 1.0001]) is None
    assert position([-1e308, 0, 0]) is None
    assert position(["1", "2"]) is None
    cosines = [1, 0, 0, 0, 1, 0]
    assert orientation(cosines) == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    assert orientation([MAX_COSINE, 0, 0, 0, -MAX_COSINE, 0]) is not None
    assert orientation([1, 0, 0, 0, 1, -2.5]) is None
    assert orientation([1, 0, 0, 0, 1, math.nan]) is None
    assert pixel_spacing(["0.5", "0.7"]) == (0.5, 0.7)
    assert pixel_spacing([MIN_SPACING, MAX_SPACING]) == (MIN_SPACING, MAX_SPACING)
    assert pixel_spacing([0.5, 0.0]) is None
    assert pixel_spacing([0.5, -0.5]) is None
    assert pixel_spacing([MAX_SPACING * 2, 0.5]) is None
    assert spacing("1.25") == 1.25
    assert spacing(0) is None
    assert spacing([1.0, 2.0]) is None


def test_single_numbers_and_vectors() -> None:
    assert positive_float("2.5") == 2.5
    assert positive_float(0) is None
    assert positive_float("nan") is None
    assert unit_vector([0, 0, 2]) == (0.0, 0.0, 1.0)
    assert unit_vector([0, 0, 0]) is None
    assert unit_vector([1.7e308, 1.7e308, 0]) is None  # its length overflows: no direction
