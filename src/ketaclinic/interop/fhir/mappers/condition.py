"""Condition: indications and the medical history that screening reads."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.resource import Resource

from ketaclinic.clinical.record import condition_definition
from ketaclinic.interop.fhir.codes import (
    CONDITION_CATEGORY,
    CONDITION_CLINICAL,
    CONDITION_CODES,
    ICD10CM,
)
from ketaclinic.interop.fhir.mappers._registry import day, patient_ref, register
from ketaclinic.interop.fhir.source import PatientData

# ketaclinic status -> FHIR condition-clinical code (R4 value set); "ruled-out" is a
# verificationStatus ("refuted") in FHIR, not a clinical status.
_CLINICAL_STATUS = {
    "active": "active",
    "in-remission": "remission",
    "historical": "resolved",
}


@register("Condition", needs=("diagnoses",))
def conditions(data: PatientData) -> list[Resource]:
    found: list[Resource] = []
    for diagnosis in data.diagnoses:
        definition = condition_definition(diagnosis.condition_id)
        codings: list[dict[str, Any]] = []
        if definition.icd10cm:
            codings.append(
                {"system": ICD10CM, "code": definition.icd10cm, "display": definition.display}
            )
        codings.append(
            {"system": CONDITION_CODES, "code": definition.id.value, "display": definition.display}
        )
        resource: dict[str, Any] = {
            "resourceType": "Condition",
            "id": diagnosis.id,
            "subject": patient_ref(data),
            "category": [{"coding": [{"system": CONDITION_CATEGORY, "code": "problem-list-item"}]}],
            "code": {"coding": codings, "text": definition.display},
        }
        if diagnosis.status == "ruled-out":
            resource["verificationStatus"] = {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                        "code": "refuted",
                    }
                ]
            }
        else:
            resource["clinicalStatus"] = {
                "coding": [
                    {"system": CONDITION_CLINICAL, "code": _CLINICAL_STATUS[diagnosis.status]}
                ]
            }
        if diagnosis.onset_date is not None:
            resource["onsetDateTime"] = day(diagnosis.onset_date)
        found.append(Condition.model_validate(resource))
    return found
