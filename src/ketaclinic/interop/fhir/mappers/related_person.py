"""RelatedPerson: escorts (the discharge precondition), next of kin, other contacts."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.relatedperson import RelatedPerson
from fhir.resources.R4B.resource import Resource

from ketaclinic.interop.fhir.codes import CONTACT_ROLE_CODES
from ketaclinic.interop.fhir.mappers._registry import patient_ref, register
from ketaclinic.interop.fhir.source import PatientData


@register("RelatedPerson", needs=("contacts",))
def related_people(data: PatientData) -> list[Resource]:
    found: list[Resource] = []
    for contact in data.contacts:
        relationship: list[dict[str, Any]] = [
            {"coding": [{"system": CONTACT_ROLE_CODES, "code": contact.role}]}
        ]
        if contact.relationship:
            relationship.append({"text": contact.relationship})
        resource: dict[str, Any] = {
            "resourceType": "RelatedPerson",
            "id": contact.id,
            "patient": patient_ref(data),
            "relationship": relationship,
            "name": [{"text": contact.name}],
        }
        telecom = [
            {"system": system, "value": value}
            for system, value in (("phone", contact.phone), ("email", contact.email))
            if value
        ]
        if telecom:
            resource["telecom"] = telecom
        found.append(RelatedPerson.model_validate(resource))
    return found
