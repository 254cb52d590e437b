"""AdverseEvent (R4B shape): term, onset, seriousness, severity, outcome, suspect administration."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.adverseevent import AdverseEvent
from fhir.resources.R4B.resource import Resource

from ketaclinic.interop.fhir.codes import BASE
from ketaclinic.interop.fhir.mappers._registry import instant, patient_ref, register
from ketaclinic.interop.fhir.source import PatientData

TERM_CODES = f"{BASE}/CodeSystem/adverse-event-term"
_TERMINOLOGY = "http://terminology.hl7.org/CodeSystem"
_SEVERITY = {"mild", "moderate", "severe"}


@register("AdverseEvent", needs=("adverse_events", "sessions"))
def adverse_events(data: PatientData) -> list[Resource]:
    found: list[Resource] = []
    for event in data.adverse_events:
        resource: dict[str, Any] = {
            "resourceType": "AdverseEvent",
            "id": event.id,
            "actuality": "actual",
            "event": {
                "coding": [{"system": TERM_CODES, "code": event.term_id}],
                "text": event.verbatim_term,
            },
            "subject": patient_ref(data),
            "date": instant(event.onset_at),
            "recordedDate": instant(event.recorded_at),
            "seriousness": {
                "coding": [
                    {
                        "system": f"{_TERMINOLOGY}/adverse-event-seriousness",
                        "code": "serious" if event.seriousness else "non-serious",
                    }
                ]
            },
            "outcome": {"text": event.outcome},
        }
        if event.severity in _SEVERITY:
            resource["severity"] = {
                "coding": [
                    {"system": f"{_TERMINOLOGY}/adverse-event-severity", "code": event.severity}
                ]
            }
        if event.session_id is not None:
            resource["encounter"] = {"reference": f"Encounter/{event.session_id}"}
            if event.session_id in data.dosing:
                resource["suspectEntity"] = [
                    {
                        "instance": {"reference": f"MedicationAdministration/{event.session_id}"},
                        "causality": [{"assessment": {"text": event.relatedness}}],
                    }
                ]
        found.append(AdverseEvent.model_validate(resource))
    return found
