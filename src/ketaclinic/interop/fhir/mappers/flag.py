"""Flag: safety flags raised on the patient (open = active, resolved = inactive)."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.resource import Resource

from ketaclinic.interop.fhir.codes import BASE
from ketaclinic.interop.fhir.mappers._registry import instant, patient_ref, register
from ketaclinic.interop.fhir.source import PatientData

FLAG_KIND_CODES = f"{BASE}/CodeSystem/safety-flag"


@register("Flag", needs=("flags",))
def flags(data: PatientData) -> list[Resource]:
    found: list[Resource] = []
    for flag in data.flags:
        period = {
            key: instant(value)
            for key, value in (("start", flag.raised_at), ("end", flag.resolved_at))
            if value is not None
        }
        resource: dict[str, Any] = {
            "resourceType": "Flag",
            "id": flag.id,
            "status": "active" if flag.status == "open" else "inactive",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/flag-category",
                            "code": "safety",
                        }
                    ]
                }
            ],
            "code": {
                "coding": [{"system": FLAG_KIND_CODES, "code": flag.kind}],
                "text": flag.reason,
            },
            "subject": patient_ref(data),
            "period": period,
        }
        found.append(Flag.model_validate(resource))
    return found
