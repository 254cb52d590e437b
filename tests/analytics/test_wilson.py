"""Wilson intervals against values worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaclinic.analytics.stats import wilson, wilson_arrays
from ketaclinic.errors import InvalidInput


def _by_hand(events: int, n: int) -> tuple[float, float]:
    # Wilson (1927): (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), z = 1.959964 for 95%.
    z = 1.959963984540054
    p = events / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


def test_eight_of_ten() -> None:
    # Worked on paper: centre 0.71674, half-width 0.22658 -> 0.4902 to 0.9433.
    interval = wilson(8, 10)
    assert interval.estimate == 0.8
    assert interval.low == pytest.approx(0.4902, abs=5e-5)
    assert interval.high == pytest.approx(0.9433, abs=5e-5)


def test_none_of_ten_has_a_real_upper_bound() -> None:
    # z²/(n + z²) = 3.8415 / 13.8415 = 0.2775; a Wald interval would collapse to 0-0.
    interval = wilson(0, 10)
    assert interval.low == 0
    assert interval.high == pytest.approx(0.2775, abs=5e-5)


@given(n=st.integers(1, 5_000), data=st.data())
def test_matches_the_formula_and_contains_the_estimate(n: int, data: st.DataObject) -> None:
    events = data.draw(st.integers(0, n))
    interval = wilson(events, n)
    low, high = _by_hand(events, n)
    assert interval.low == pytest.approx(max(low, 0.0), abs=1e-12)
    assert interval.high == pytest.approx(min(high, 1.0), abs=1e-12)
    assert 0 <= interval.low <= interval.estimate <= interval.high <= 1


def test_vectorised_equals_scalar_and_empty_groups_are_nan() -> None:
    low, high = wilson_arrays(np.array([3.0, 0.0]), np.array([7.0, 0.0]))
    assert low[0] == pytest.approx(wilson(3, 7).low)
    assert high[0] == pytest.approx(wilson(3, 7).high)
    assert math.isnan(low[1])
    assert wilson(0, 0).as_percent() == "no data"


def test_impossible_counts_are_refused() -> None:
    with pytest.raises(InvalidInput, match="events"):
        wilson(11, 10)
