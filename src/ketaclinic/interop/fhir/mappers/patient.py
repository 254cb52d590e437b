"""Patient: identity, MRN identifier, contact details (all removed by de-identification first)."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.resource import Resource

from ketaclinic.interop.fhir.codes import AGE_90_OR_OVER, MRN_SYSTEM, REGISTRY_KEY_SYSTEM
from ketaclinic.interop.fhir.mappers._registry import day, meta, register
from ketaclinic.interop.fhir.source import PatientData

_GENDER = {"F": "female", "M": "male"}


@register("Patient", needs=())
def patient(data: PatientData) -> list[Resource]:
    row = data.patient
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": row.id,
        "meta": meta(data),
        "identifier": [
            {
                "system": REGISTRY_KEY_SYSTEM if data.deidentified else MRN_SYSTEM,
                "value": row.mrn,
            }
        ],
        # Patient.gender is administrative gender; the record's sex is the nearest FHIR concept.
        "gender": _GENDER.get(row.sex, "unknown"),
    }
    if row.given_name or row.family_name:
        name: dict[str, Any] = {"use": "official", "family": row.family_name}
        if row.given_name:
            name["given"] = [row.given_name]
        resource["name"] = [name]
        if row.preferred_name:
            resource["name"].append({"use": "usual", "given": [row.preferred_name]})
    if data.deidentified:
        # Safe Harbor keeps the year of birth only (none at all for 90 or over: see deidentify).
        if row.date_of_birth is not None and row.date_of_birth.year > 1:
            resource["birthDate"] = str(row.date_of_birth.year)
        else:
            # Without a year of birth a receiver could not tell an old patient from a record
            # missing its birth date: say "aged 90 or over" (Safe Harbor's grouped age).
            resource["extension"] = [{"url": AGE_90_OR_OVER, "valueBoolean": True}]
    else:
        resource["birthDate"] = day(row.date_of_birth)
    telecom = [
        {"system": system, "value": value}
        for system, value in (("phone", row.phone), ("email", row.email))
        if value
    ]
    if telecom:
        resource["telecom"] = telecom
    address = {
        key: value
        for key, value in (
            ("line", [row.address_line] if row.address_line else None),
            ("city", row.city),
            ("postalCode", row.postal_code),
            ("country", row.country),
        )
        if value
    }
    if address:
        resource["address"] = [address]
    if not resource["meta"]:
        del resource["meta"]
    return [Patient.model_validate(resource)]
