"""Reading the session monitor's form fields: numbers with units, yes/no answers, times "ago".

Pure helpers (no database): every bad value becomes an ``InvalidInput`` naming the field, in words
a nurse can act on, so the page can show it beside the field and keep what was typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from ketaclinic.clinical.sessions.alerts import CSSRS_RISK_LEVELS, Measures
from ketaclinic.errors import InvalidInput

# Field name -> (label shown on the page, unit, input step, whole numbers only).
VITAL_FIELDS: dict[str, tuple[str, str, str, bool]] = {
    "systolic_mmhg": ("Systolic blood pressure", "mmHg", "1", False),
    "diastolic_mmhg": ("Diastolic blood pressure", "mmHg", "1", False),
    "heart_rate_bpm": ("Heart rate", "beats/min", "1", False),
    "spo2_percent": ("Oxygen saturation (SpO2)", "%", "1", False),
    "respiratory_rate_per_min": ("Respiratory rate", "breaths/min", "1", False),
}
SCALE_FIELDS: dict[str, tuple[str, str, str, bool]] = {
    "moaas": ("MOAA/S sedation score", "0 (no response) to 5 (alert)", "1", True),
    "cadss_total": ("CADSS dissociation total", "points", "1", False),
    "bprs_positive_total": ("BPRS positive-symptom items total", "points", "1", False),
    "phq9_item9": ("PHQ-9 item 9 (thoughts of self-harm)", "0 to 3", "1", True),
}
MEASURE_LABELS = {name: spec[0] for name, spec in {**VITAL_FIELDS, **SCALE_FIELDS}.items()}
MEASURE_LABELS["cssrs_risk"] = "C-SSRS screen risk"


def text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def number(form: Mapping[str, Any], name: str, label: str, *, whole: bool = False) -> float | None:
    """An optional number; a blank field is "not measured"."""
    raw = text(form, name).replace(",", ".")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(f"{label}: write a number, not '{raw}'.", field=name) from None
    if whole and value != int(value):
        raise InvalidInput(f"{label}: write a whole number, not '{raw}'.", field=name)
    return value


def required_number(form: Mapping[str, Any], name: str, label: str) -> float:
    value = number(form, name, label)
    if value is None:
        raise InvalidInput(f"{label}: this is needed.", field=name)
    if value <= 0:
        raise InvalidInput(f"{label}: must be more than 0.", field=name)
    return value


def yes_no(form: Mapping[str, Any], name: str) -> bool | None:
    """A yes/no radio group: None when not answered."""
    raw = text(form, name)
    return {"yes": True, "no": False}.get(raw)


def ago(
    form: Mapping[str, Any], name: str, label: str, unit: str, now: datetime
) -> datetime | None:
    """A time given as "how long ago" (hours or minutes), which a nurse asks the patient."""
    value = number(form, name, label)
    if value is None:
        return None
    if value < 0:
        raise InvalidInput(f"{label}: how long ago cannot be negative.", field=name)
    return now - (timedelta(hours=value) if unit == "hours" else timedelta(minutes=value))


def measures_from(form: Mapping[str, Any]) -> Measures:
    """Vitals and scale scores from the quick-entry form; at least one value is needed."""
    values: dict[str, Any] = {}
    for name, (label, _unit, _step, whole) in {**VITAL_FIELDS, **SCALE_FIELDS}.items():
        value = number(form, name, label, whole=whole)
        if value is not None:
            values[name] = int(value) if whole else value
    risk = text(form, "cssrs_risk")
    if risk:
        if risk not in CSSRS_RISK_LEVELS:
            raise InvalidInput(
                f"C-SSRS screen risk: choose one of {', '.join(CSSRS_RISK_LEVELS)}.",
                field="cssrs_risk",
            )
        values["cssrs_risk"] = risk
    if not values:
        raise InvalidInput(
            "Enter at least one reading or score before saving.", field="systolic_mmhg"
        )
    try:
        return Measures.model_validate(values)
    except ValidationError as exc:
        raise from_validation(exc) from None


def from_validation(exc: ValidationError) -> InvalidInput:
    """The first problem of a pydantic error, named by its field's label."""
    first = exc.errors()[0]
    location = [str(part) for part in first.get("loc", ())]
    field = location[0] if location else None
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    if field in MEASURE_LABELS:
        return InvalidInput(f"{MEASURE_LABELS[field]}: {message}.", field=field)
    # Model-level checks (plausibility of vitals) name the measure in their message.
    named = next((name for name in MEASURE_LABELS if name in message), None)
    if named is not None:
        return InvalidInput(f"{MEASURE_LABELS[named]}: {message}.", field=named)
    return InvalidInput(message, field=field)
