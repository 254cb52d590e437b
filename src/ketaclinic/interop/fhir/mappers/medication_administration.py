"""MedicationAdministration: the session's dose, route and lot (the lot the REMS form asks for).

R4 keeps the lot on Medication.batch, so each administration contains its Medication.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.medicationadministration import MedicationAdministration
from fhir.resources.R4B.resource import Resource

from ketaclinic.interop.fhir.codes import BASE, UCUM
from ketaclinic.interop.fhir.mappers._registry import instant, patient_ref, register
from ketaclinic.interop.fhir.source import PatientData

ROUTE_CODES = f"{BASE}/CodeSystem/route"


def _mg(value: float) -> dict[str, Any]:
    return {"value": value, "unit": "mg", "system": UCUM, "code": "mg"}


@register("MedicationAdministration", needs=("sessions",))
def administrations(data: PatientData) -> list[Resource]:
    found: list[Resource] = []
    for session in data.sessions:
        record = data.dosing.get(session.id)
        if record is None:
            continue
        dosage: dict[str, Any] = {
            "route": {
                "coding": [{"system": ROUTE_CODES, "code": record.route}],
                "text": record.route,
            },
            "dose": _mg(record.dose_mg),
        }
        if record.dose_mg_per_kg is not None:
            dosage["text"] = f"{record.dose_mg:g} mg ({record.dose_mg_per_kg:g} mg/kg)"
        if record.initial_rate_mg_per_h is not None:
            dosage["rateQuantity"] = {
                "value": record.initial_rate_mg_per_h,
                "unit": "mg/h",
                "system": UCUM,
                "code": "mg/h",
            }
        period = {
            key: instant(value)
            for key, value in (("start", record.started_at), ("end", record.stopped_at))
            if value is not None
        }
        resource: dict[str, Any] = {
            "resourceType": "MedicationAdministration",
            "id": session.id,
            "contained": [
                {
                    "resourceType": "Medication",
                    "id": "medication",
                    "code": {"text": f"{record.product}, {record.formulation}"},
                    "batch": {"lotNumber": record.lot_number},
                }
            ],
            "status": "completed" if record.stopped_at is not None else "in-progress",
            "medicationReference": {"reference": "#medication"},
            "subject": patient_ref(data),
            "context": {"reference": f"Encounter/{session.id}"},
            "effectivePeriod": period,
            "dosage": dosage,
        }
        performers = [name for name in (record.administered_by, record.supervised_by) if name]
        if performers:
            resource["performer"] = [{"actor": {"display": name}} for name in performers]
        found.append(MedicationAdministration.model_validate(resource))
    return found
