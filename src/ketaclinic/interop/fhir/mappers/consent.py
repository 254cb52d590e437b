"""Consent: treatment, research and REMS-enrolment consents, active or withdrawn."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.resource import Resource

from ketaclinic.interop.fhir.codes import (
    CONSENT_CATEGORY,
    CONSENT_KIND_CODES,
    CONSENT_SCOPE,
    V3_ACT_CODE,
)
from ketaclinic.interop.fhir.mappers._registry import instant, patient_ref, register
from ketaclinic.interop.fhir.source import PatientData

# FHIR R4 consent scope: research consents are "research", the others "treatment".
_SCOPE = {"research": "research", "treatment": "treatment", "rems-enrolment": "treatment"}
# R4 invariant ppc-1 asks for a policy or a policyRule. Every consent ketaclinic records is the
# patient agreeing (opting in) to what its kind names; a withdrawal ends its provision period.
_OPT_IN = {"coding": [{"system": V3_ACT_CODE, "code": "OPTIN", "display": "opt-in"}]}


@register("Consent", needs=("consents",))
def consents(data: PatientData) -> list[Resource]:
    found: list[Resource] = []
    for row in data.consents:
        resource: dict[str, Any] = {
            "resourceType": "Consent",
            "id": row.id,
            # A withdrawn consent is "inactive" in R4 (the value set has no "withdrawn").
            "status": "active" if row.status == "active" else "inactive",
            "scope": {"coding": [{"system": CONSENT_SCOPE, "code": _SCOPE[row.kind]}]},
            "category": [
                {
                    "coding": [
                        {
                            "system": CONSENT_CATEGORY,
                            "code": "research" if row.kind == "research" else "idscl",
                        }
                    ]
                },
                {"coding": [{"system": CONSENT_KIND_CODES, "code": row.kind}]},
            ],
            "patient": patient_ref(data),
            "dateTime": instant(row.given_at),
            "policyRule": _OPT_IN,
            "provision": {
                "type": "permit",
                "period": {
                    key: instant(value)
                    for key, value in (("start", row.given_at), ("end", row.withdrawn_at))
                    if value is not None
                },
            },
        }
        if row.document_ref:
            resource["sourceReference"] = {"display": row.document_ref}
        found.append(Consent.model_validate(resource))
    return found
