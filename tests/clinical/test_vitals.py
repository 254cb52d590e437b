"""Vital signs: UCUM unit and LOINC code per kind; impossible values refused, never clamped."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaclinic.clinical.vitals import (
    VitalKind,
    bmi_kg_per_m2,
    validate_vital,
    vital_definition,
    vitals_file,
)
from ketaclinic.errors import InvalidInput

# LOINC codes of the FHIR vital-signs profiles (shared reference interop.md 2.2, FHIR R4 profiles).
EXPECTED_LOINC = {
    VitalKind.SYSTOLIC_MMHG: "8480-6",
    VitalKind.DIASTOLIC_MMHG: "8462-4",
    VitalKind.HEART_RATE_BPM: "8867-4",
    VitalKind.SPO2_PERCENT: "59408-5",
    VitalKind.RESPIRATORY_RATE_PER_MIN: "9279-1",
    VitalKind.TEMPERATURE_C: "8310-5",
    VitalKind.WEIGHT_KG: "29463-7",
    VitalKind.HEIGHT_CM: "8302-2",
}
EXPECTED_UCUM = {
    VitalKind.SYSTOLIC_MMHG: "mm[Hg]",
    VitalKind.DIASTOLIC_MMHG: "mm[Hg]",
    VitalKind.HEART_RATE_BPM: "/min",
    VitalKind.SPO2_PERCENT: "%",
    VitalKind.RESPIRATORY_RATE_PER_MIN: "/min",
    VitalKind.TEMPERATURE_C: "Cel",
    VitalKind.WEIGHT_KG: "kg",
    VitalKind.HEIGHT_CM: "cm",
}


@pytest.mark.parametrize("kind", list(VitalKind))
def test_every_kind_has_code_unit_and_sources(kind: VitalKind) -> None:
    definition = vital_definition(kind)
    assert definition.loinc == EXPECTED_LOINC[kind]
    assert definition.unit == EXPECTED_UCUM[kind]
    # Plausibility limits are practice, not a cited standard: the file must say so.
    assert definition.limits_source.verified is False
    assert definition.limits_source.note


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("systolic_mmhg", 118),
        ("diastolic_mmhg", 76),
        ("heart_rate_bpm", 64),
        ("spo2_percent", 97),
        ("respiratory_rate_per_min", 14),
        ("temperature_c", 36.8),
        ("weight_kg", 82.5),
        ("height_cm", 171),
    ],
)
def test_ordinary_adult_values_pass_unchanged(kind: str, value: float) -> None:
    assert validate_vital(kind, value) == pytest.approx(value)


@pytest.mark.parametrize(
    ("kind", "value", "why"),
    [
        ("systolic_mmhg", 1200, "extra digit"),
        ("spo2_percent", 101, "above 100 %"),
        ("temperature_c", 98.6, "Fahrenheit typed as Celsius"),
        ("weight_kg", 0, "empty scale"),
        ("weight_kg", 410, "pounds typed as kilograms"),
        ("height_cm", 5.9, "feet typed as centimetres"),
        ("heart_rate_bpm", -60, "negative"),
    ],
)
def test_impossible_values_are_refused_with_the_allowed_range(
    kind: str, value: float, why: str
) -> None:
    definition = vital_definition(kind)
    with pytest.raises(InvalidInput) as raised:
        validate_vital(kind, value)
    assert raised.value.field == kind
    assert f"{definition.min_value:g} to {definition.max_value:g}" in raised.value.message
    assert definition.unit in raised.value.message


@pytest.mark.parametrize("value", [math.nan, math.inf, "120", None, True])
def test_non_numbers_are_refused(value: object) -> None:
    with pytest.raises(InvalidInput, match="Systolic blood pressure"):
        validate_vital("systolic_mmhg", value)  # type: ignore[arg-type]


def test_unknown_kind_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInput, match="heart_rate_bpm"):
        validate_vital("pulse", 70)


@given(kind=st.sampled_from(list(VitalKind)), data=st.data())
def test_validate_never_clamps(kind: VitalKind, data: st.DataObject) -> None:
    value = data.draw(st.floats(allow_nan=False, allow_infinity=False, width=32))
    definition = vital_definition(kind)
    if definition.min_value <= value <= definition.max_value:
        assert validate_vital(kind, value) == value
    else:
        with pytest.raises(InvalidInput):
            validate_vital(kind, value)


def test_bmi_worked_example() -> None:
    # 70 kg / (1.75 m)^2 = 70 / 3.0625 = 22.857...
    assert bmi_kg_per_m2(70, 175) == pytest.approx(22.857, abs=0.001)
    assert vitals_file().bmi.loinc == "39156-5"


def test_bmi_refuses_an_impossible_height() -> None:
    with pytest.raises(InvalidInput, match="Body height"):
        bmi_kg_per_m2(70, 17.5)
