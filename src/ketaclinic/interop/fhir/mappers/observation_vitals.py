"""Observation (vital signs): one Observation per time point, on the FHIR Vital Signs profiles.

A systolic and a diastolic taken together become one blood-pressure panel (LOINC 85354-9) with two
components, as the BP profile requires; a lone systolic or diastolic stays a single Observation.
Measured values that are not vital signs keep their own code (LOINC if stored, else local).
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.resource import Resource

from ketaclinic.clinical.vitals import VitalKind, vital_definition
from ketaclinic.interop.fhir.codes import (
    BP_PANEL_LOINC,
    BP_PROFILE,
    CLINIC_OBSERVATION_CODES,
    LOINC,
    OBSERVATION_CATEGORY,
    SESSION_SCALE_CODES,
    UCUM,
    VITAL_SIGNS_PROFILE,
    local,
)
from ketaclinic.interop.fhir.mappers._registry import instant, meta, patient_ref, register
from ketaclinic.interop.fhir.source import PatientData
from ketaclinic.storage.tables.measurements import ObservationRow

_VITAL_KINDS = {kind.value for kind in VitalKind}
_BP_PAIR = (VitalKind.SYSTOLIC_MMHG.value, VitalKind.DIASTOLIC_MMHG.value)
# The FHIR R4 oxygen-saturation profile requires LOINC 2708-6; pulse oximetry (59408-5, the code in
# vitals.yaml) is the US Core slice. Both go out, as US Core's pulse-oximetry examples do
# (shared reference interop.md 2.2).
_CORE_SPO2 = {"system": LOINC, "code": "2708-6", "display": "Oxygen saturation in Arterial blood"}


def _category(code: str) -> dict[str, Any]:
    return {"coding": [{"system": OBSERVATION_CATEGORY, "code": code}]}


def _quantity(row: ObservationRow) -> dict[str, Any]:
    return {"value": row.value, "unit": row.unit, "system": UCUM, "code": row.unit}


def _code(row: ObservationRow) -> dict[str, Any]:
    if row.kind in _VITAL_KINDS:
        definition = vital_definition(row.kind)
        coding = [{"system": LOINC, "code": definition.loinc, "display": definition.display}]
        if row.kind == VitalKind.SPO2_PERCENT.value:
            coding.append(_CORE_SPO2)
        return {"coding": coding, "text": definition.display}
    if row.loinc_code:
        return {"coding": [{"system": LOINC, "code": row.loinc_code}], "text": row.kind}
    if row.kind in SESSION_SCALE_CODES:
        display = SESSION_SCALE_CODES[row.kind]
        return {"coding": [local(row.kind, display)], "text": display}
    # A code the clinic gave its own measurement: its own system, never passed off as ours.
    return {"coding": [{"system": CLINIC_OBSERVATION_CODES, "code": row.kind}], "text": row.kind}


def _base(data: PatientData, row: ObservationRow, profile: str | None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": row.id,
        "status": "final",
        "subject": patient_ref(data),
        "effectiveDateTime": instant(row.observed_at),
        "issued": instant(row.recorded_at),
    }
    if row.context_id is not None and any(s.id == row.context_id for s in data.sessions):
        # A reading taken during a supervised session belongs to that session's Encounter.
        resource["encounter"] = {"reference": f"Encounter/{row.context_id}"}
    found_meta = meta(data, profile)
    if found_meta:
        resource["meta"] = found_meta
    return resource


def _bp_panel(data: PatientData, systolic: ObservationRow, diastolic: ObservationRow) -> Resource:
    resource = _base(data, systolic, BP_PROFILE)
    resource["category"] = [_category("vital-signs")]
    resource["code"] = {
        "coding": [{"system": LOINC, "code": BP_PANEL_LOINC, "display": "Blood pressure panel"}],
        "text": "Blood pressure",
    }
    resource["component"] = [
        {"code": _code(row), "valueQuantity": _quantity(row)} for row in (systolic, diastolic)
    ]
    return Observation.model_validate(resource)


def _pair_key(row: ObservationRow) -> tuple[str, str | None]:
    return (row.observed_at.isoformat(), row.context_id)


@register("Observation", needs=("observations", "sessions"))
def vital_observations(data: PatientData) -> list[Resource]:
    diastolic_by_time = {
        _pair_key(row): row for row in data.observations if row.kind == _BP_PAIR[1]
    }
    # Decide the pairs first: a diastolic that belongs to a panel must not also go out alone,
    # whichever of the two rows comes first.
    partners = {
        row.id: diastolic_by_time[_pair_key(row)]
        for row in data.observations
        if row.kind == _BP_PAIR[0] and _pair_key(row) in diastolic_by_time
    }
    paired = {partner.id for partner in partners.values()}
    found: list[Resource] = []
    for row in sorted(data.observations, key=lambda r: (r.observed_at, r.kind, r.id)):
        if row.id in paired:
            continue
        if row.id in partners:
            found.append(_bp_panel(data, row, partners[row.id]))
            continue
        is_vital = row.kind in _VITAL_KINDS
        resource = _base(data, row, VITAL_SIGNS_PROFILE if is_vital else None)
        if is_vital:
            resource["category"] = [_category("vital-signs")]
        elif row.unit == "{score}":
            resource["category"] = [_category("survey")]  # bedside scales: MOAA/S, CADSS, ...
        resource["code"] = _code(row)
        resource["valueQuantity"] = _quantity(row)
        found.append(Observation.model_validate(resource))
    return found
