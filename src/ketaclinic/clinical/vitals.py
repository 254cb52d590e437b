"""Vital signs: kinds with UCUM units and LOINC codes, and physiological plausibility checks.

``validate_vital`` refuses a value no living adult could have (a typo, pounds typed as kilograms,
Fahrenheit as Celsius) and never clamps it: a clamped blood pressure is a false record. The limits
are data (``clinical/data/vitals.yaml``); they are not alert thresholds, which live elsewhere.

A reading taken during a supervised session is checked with ``monitoring=True``: its floor is the
physical one (an apnoeic patient's respiratory rate of 0, a saturation of 45 %), because the
readings that matter most are the ones a deteriorating patient has, and refusing them would
silence the alerts they should raise. ``blood_pressure_problem`` is the one home of the rule that
a diastolic pressure lies below its systolic.
"""

from __future__ import annotations

import math
from enum import StrEnum
from functools import cache

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ketaclinic.clinical.knowledge import Source, load_knowledge
from ketaclinic.errors import InvalidInput


class VitalKind(StrEnum):
    SYSTOLIC_MMHG = "systolic_mmhg"
    DIASTOLIC_MMHG = "diastolic_mmhg"
    HEART_RATE_BPM = "heart_rate_bpm"
    SPO2_PERCENT = "spo2_percent"
    RESPIRATORY_RATE_PER_MIN = "respiratory_rate_per_min"
    TEMPERATURE_C = "temperature_c"
    WEIGHT_KG = "weight_kg"
    HEIGHT_CM = "height_cm"


class VitalDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: VitalKind
    display: str
    unit: str = Field(description="UCUM unit code")
    loinc: str
    min_value: float
    max_value: float
    source: Source
    limits_source: Source
    # The floor for readings during a supervised session (None: not monitored in sessions).
    monitoring_min_value: float | None = Field(default=None, ge=0)
    monitoring_limits_source: Source | None = None

    @model_validator(mode="after")
    def _range_is_ordered(self) -> VitalDefinition:
        if self.min_value >= self.max_value:
            raise ValueError(f"{self.id}: min_value must be below max_value")
        if (self.monitoring_min_value is None) != (self.monitoring_limits_source is None):
            raise ValueError(f"{self.id}: monitoring_min_value needs monitoring_limits_source")
        if self.monitoring_min_value is not None and self.monitoring_min_value > self.min_value:
            raise ValueError(f"{self.id}: a session reading's floor cannot be above min_value")
        return self

    def allowed_range(self, *, monitoring: bool = False) -> tuple[float, float]:
        """(lowest, highest) value accepted; ``monitoring`` for a reading during a session."""
        if monitoring:
            if self.monitoring_min_value is None:
                raise InvalidInput(f"{self.display} is not a session reading.", field=self.id.value)
            return self.monitoring_min_value, self.max_value
        return self.min_value, self.max_value


class BmiDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    display: str
    unit: str
    loinc: str
    source: Source


class VitalsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: tuple[VitalDefinition, ...]
    bmi: BmiDefinition

    @model_validator(mode="after")
    def _every_kind_once(self) -> VitalsFile:
        ids = [kind.id for kind in self.kinds]
        if sorted(ids) != sorted(VitalKind):
            raise ValueError("vitals.yaml must define every VitalKind exactly once")
        return self


def vitals_file() -> VitalsFile:
    return load_knowledge("ketaclinic.clinical", "vitals.yaml", VitalsFile)


@cache
def _definitions() -> dict[str, VitalDefinition]:
    # Keyed by the plain string too: every stored reading is checked field by field on load.
    return {definition.id.value: definition for definition in vitals_file().kinds}


def vital_definition(kind: VitalKind | str) -> VitalDefinition:
    definition = _definitions().get(kind)
    if definition is None:
        allowed = ", ".join(k.value for k in VitalKind)
        raise InvalidInput(f"Unknown vital sign '{kind}'. Use one of: {allowed}.", field="kind")
    return definition


def validate_vital(kind: VitalKind | str, value: float, *, monitoring: bool = False) -> float:
    """Return ``value`` as a float if a living adult could have it; else raise InvalidInput.

    ``monitoring=True`` checks a reading taken during a supervised session against the session
    range (physical floor), so that the most dangerous readings can be charted.
    """
    definition = vital_definition(kind)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(
            f"{definition.display} must be a number in {definition.unit}, not {value!r}.",
            field=definition.id.value,
        )
    number = float(value)
    low, high = definition.allowed_range(monitoring=monitoring)
    if not math.isfinite(number) or not low <= number <= high:
        raise InvalidInput(
            f"{definition.display} of {value} {definition.unit} is not physiologically possible: "
            f"enter a value from {low:g} to {high:g} {definition.unit} "
            "(check the unit and the digits).",
            field=definition.id.value,
        )
    return number


def blood_pressure_problem(systolic_mmhg: float, diastolic_mmhg: float) -> str | None:
    """Why a blood pressure cannot be right, or None: the diastolic lies below the systolic."""
    if diastolic_mmhg >= systolic_mmhg:
        return (
            f"diastolic {diastolic_mmhg:g} mmHg is not below systolic {systolic_mmhg:g} mmHg: "
            "systolic must be higher than diastolic (were they swapped?)"
        )
    return None


def bmi_kg_per_m2(weight_kg: float, height_cm: float) -> float:
    """Body mass index from a plausible weight and height (both checked first)."""
    weight = validate_vital(VitalKind.WEIGHT_KG, weight_kg)
    height_m = validate_vital(VitalKind.HEIGHT_CM, height_cm) / 100.0
    return weight / (height_m * height_m)
