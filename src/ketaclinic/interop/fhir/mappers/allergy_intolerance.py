"""AllergyIntolerance: substance (free text), reaction and severity."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.allergyintolerance import AllergyIntolerance
from fhir.resources.R4B.resource import Resource

from ketaclinic.interop.fhir.mappers._registry import instant, patient_ref, register
from ketaclinic.interop.fhir.source import PatientData


@register("AllergyIntolerance", needs=("allergies",))
def allergies(data: PatientData) -> list[Resource]:
    found: list[Resource] = []
    for allergy in data.allergies:
        resource: dict[str, Any] = {
            "resourceType": "AllergyIntolerance",
            "id": allergy.id,
            "patient": patient_ref(data),
            "code": {"text": allergy.substance},
        }
        if allergy.reaction or allergy.severity in ("mild", "moderate", "severe"):
            reaction: dict[str, Any] = {
                "manifestation": [{"text": allergy.reaction or "reaction not described"}]
            }
            if allergy.severity in ("mild", "moderate", "severe"):
                reaction["severity"] = allergy.severity
            resource["reaction"] = [reaction]
        if allergy.noted_at is not None:
            resource["recordedDate"] = instant(allergy.noted_at)
        found.append(AllergyIntolerance.model_validate(resource))
    return found
