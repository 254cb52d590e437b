"""The mapper registry and the helpers every mapper shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fhir.resources.R4B.resource import Resource

from ketaclinic.interop.fhir.codes import SYNTHETIC_TAG
from ketaclinic.interop.fhir.source import PatientData

MapFunction = Callable[[PatientData], list[Resource]]


@dataclass(frozen=True)
class Mapper:
    resource_type: str
    build: MapFunction


MAPPERS: dict[str, Mapper] = {}


def register(resource_type: str) -> Callable[[MapFunction], MapFunction]:
    def decorator(function: MapFunction) -> MapFunction:
        MAPPERS[resource_type] = Mapper(resource_type, function)
        return function

    return decorator


def patient_resources(data: PatientData) -> list[Resource]:
    """Every resource of one patient, the Patient first (references point back to it)."""
    found: list[Resource] = []
    ordered = sorted(
        MAPPERS.values(), key=lambda m: (m.resource_type != "Patient", m.resource_type)
    )
    for mapper in ordered:
        found.extend(mapper.build(data))
    return found


def patient_ref(data: PatientData) -> dict[str, str]:
    return {"reference": f"Patient/{data.patient.id}"}


def instant(moment: datetime) -> str:
    return moment.isoformat()


def day(value: date) -> str:
    return value.isoformat()


def meta(data: PatientData, profile: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if profile:
        found["profile"] = [profile]
    if data.patient.is_synthetic:
        # Demo records must never be mistaken for real people, in an export either.
        found["tag"] = [SYNTHETIC_TAG]
    return found
