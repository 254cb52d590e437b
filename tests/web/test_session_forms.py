"""Reading the monitor's fields: numbers with a comma or a point, blanks as "not measured", times
"ago", and errors that name the field in words a nurse can act on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaclinic.errors import InvalidInput
from ketaclinic.web.session_forms import ago, measures_from, number, yes_no

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda v: round(v, 3)))
def test_any_number_written_with_a_point_or_a_comma_reads_the_same(value: float) -> None:
    written = repr(value)
    assert number({"x": written}, "x", "X") == value
    assert number({"x": written.replace(".", ",")}, "x", "X") == value


def test_blank_is_not_measured_and_words_are_refused_naming_the_field() -> None:
    assert number({"x": "  "}, "x", "Heart rate") is None
    with pytest.raises(InvalidInput, match="Heart rate: write a number, not 'seventy'") as exc:
        number({"x": "seventy"}, "x", "Heart rate")
    assert exc.value.field == "x"
    with pytest.raises(InvalidInput, match="whole number"):
        number({"m": "4.5"}, "m", "MOAA/S", whole=True)


def test_times_ago_and_yes_no() -> None:
    assert ago({"f": "3"}, "f", "Last food", "hours", NOW) == NOW - timedelta(hours=3)
    assert ago({"l": "45"}, "l", "Last liquids", "minutes", NOW) == NOW - timedelta(minutes=45)
    with pytest.raises(InvalidInput, match="cannot be negative"):
        ago({"l": "-5"}, "l", "Last liquids", "minutes", NOW)
    assert [yes_no({"q": v}, "q") for v in ("yes", "no", "", "maybe")] == [True, False, None, None]


def test_readings_need_a_value_and_plausible_numbers() -> None:
    with pytest.raises(InvalidInput, match="at least one") as empty:
        measures_from({})
    assert empty.value.field == "systolic_mmhg"
    with pytest.raises(InvalidInput, match="MOAA/S sedation score") as moaas:
        measures_from({"moaas": "6"})
    assert moaas.value.field == "moaas"
    with pytest.raises(InvalidInput, match="C-SSRS screen risk: choose one of none, low"):
        measures_from({"cssrs_risk": "very"})
    with pytest.raises(InvalidInput, match="from 0 to 300") as implausible:
        measures_from({"systolic_mmhg": "400"})
    assert implausible.value.field == "systolic_mmhg"
    # A deteriorating patient's readings are charted, not refused.
    apnoea = measures_from({"respiratory_rate_per_min": "0", "spo2_percent": "45"})
    assert (apnoea.respiratory_rate_per_min, apnoea.spo2_percent) == (0, 45)
    reading = measures_from({"systolic_mmhg": "128", "moaas": "5", "cssrs_risk": "none"})
    assert (reading.systolic_mmhg, reading.moaas, reading.cssrs_risk) == (128, 5, "none")
