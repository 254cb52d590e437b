"""Encounter: one supervised session, period from check-in to discharge (REMS monitoring time)."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.resource import Resource

from ketaclinic.interop.fhir.codes import BASE
from ketaclinic.interop.fhir.mappers._registry import instant, patient_ref, register
from ketaclinic.interop.fhir.source import PatientData

PROTOCOL_KIND_CODES = f"{BASE}/CodeSystem/protocol-kind"
SESSION_STATE_CODES = f"{BASE}/CodeSystem/session-state"
# ketaclinic session state -> FHIR R4 Encounter.status.
_STATUS = {
    "scheduled": "planned",
    "checked-in": "arrived",
    "predose-passed": "in-progress",
    "dosing": "in-progress",
    "monitoring": "in-progress",
    "ready-for-discharge": "in-progress",
    "discharged": "finished",
    "aborted": "cancelled",
    "no-show": "cancelled",
}


@register("Encounter", needs=("sessions",))
def encounters(data: PatientData) -> list[Resource]:
    found: list[Resource] = []
    for session in data.sessions:
        steps = data.steps.get(session.id, [])
        arrived = next((s.at for s in steps if s.event == "check-in"), None)
        left = next((s.at for s in steps if s.event in ("discharge", "abort")), None)
        period = {
            key: instant(value)
            for key, value in (("start", arrived or session.scheduled_for), ("end", left))
            if value is not None
        }
        resource: dict[str, Any] = {
            "resourceType": "Encounter",
            "id": session.id,
            "status": _STATUS.get(session.state, "unknown"),
            # HL7 v3 ActCode AMB: an ambulatory (outpatient) encounter.
            "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": "AMB",
                "display": "ambulatory",
            },
            "type": [
                {"coding": [{"system": PROTOCOL_KIND_CODES, "code": session.protocol_kind}]},
                {"coding": [{"system": SESSION_STATE_CODES, "code": session.state}]},
            ],
            "subject": patient_ref(data),
            "period": period,
        }
        if session.state == "discharged":
            resource["hospitalization"] = {"dischargeDisposition": {"text": "home with escort"}}
        found.append(Encounter.model_validate(resource))
    return found
