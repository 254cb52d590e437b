"""One small module per FHIR resource type, each registering a mapper in ``MAPPERS``.

A mapper turns a :class:`~ketaclinic.interop.fhir.source.PatientData` snapshot into validated
``fhir.resources.R4B`` resources. Adding a resource type (CarePlan, Encounter,
MedicationAdministration, AdverseEvent, Flag when their tables land) is one new module that calls
:func:`register` and one import line below.
"""

from __future__ import annotations

from ketaclinic.interop.fhir.mappers import (  # noqa: F401  (imported to register)
    adverse_event,
    allergy_intolerance,
    audit_event,
    care_plan,
    condition,
    consent,
    encounter,
    flag,
    medication_administration,
    medication_statement,
    observation_vitals,
    patient,
    questionnaire_response,
    related_person,
)
from ketaclinic.interop.fhir.mappers._registry import (
    MAPPERS,
    Mapper,
    mappers_for,
    parts_for,
    patient_resources,
    produced_types,
    register,
)

__all__ = [
    "MAPPERS",
    "Mapper",
    "mappers_for",
    "parts_for",
    "patient_resources",
    "produced_types",
    "register",
]
