"""The mapper registry and the helpers every mapper shares."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fhir.resources.R4B.resource import Resource

from ketaclinic.interop.fhir.codes import SYNTHETIC_TAG
from ketaclinic.interop.fhir.source import PARTS, PatientData

MapFunction = Callable[[PatientData], list[Resource]]


@dataclass(frozen=True)
class Mapper:
    resource_type: str
    build: MapFunction
    # The snapshot parts the mapper reads (``source.PARTS``) and every type it emits (its own,
    # plus e.g. the score Observation a QuestionnaireResponse derives).
    needs: frozenset[str]
    produces: frozenset[str]


MAPPERS: dict[str, Mapper] = {}


def register(
    resource_type: str, *, needs: Iterable[str], also: Iterable[str] = ()
) -> Callable[[MapFunction], MapFunction]:
    needed = frozenset(needs)
    unknown = needed - PARTS
    if unknown:
        raise ValueError(f"{resource_type} mapper needs unknown parts {sorted(unknown)}")

    def decorator(function: MapFunction) -> MapFunction:
        produces = frozenset({resource_type, *also})
        MAPPERS[resource_type] = Mapper(resource_type, function, needed, produces)
        return function

    return decorator


def mappers_for(resource_type: str | None = None) -> list[Mapper]:
    """The mappers emitting ``resource_type`` (all when None), the Patient's first."""
    chosen = [m for m in MAPPERS.values() if resource_type is None or resource_type in m.produces]
    return sorted(chosen, key=lambda m: (m.resource_type != "Patient", m.resource_type))


def parts_for(resource_type: str | None = None) -> frozenset[str]:
    """The snapshot parts needed to build ``resource_type`` (every part when None)."""
    return frozenset().union(*(m.needs for m in mappers_for(resource_type)))


def produced_types() -> frozenset[str]:
    return frozenset().union(*(m.produces for m in MAPPERS.values()))


def patient_resources(data: PatientData, resource_type: str | None = None) -> list[Resource]:
    """The patient's resources, the Patient first (references point back to it); only those of
    ``resource_type`` when given, built by the mappers that emit it alone."""
    found: list[Resource] = []
    for mapper in mappers_for(resource_type):
        built = mapper.build(data)
        if resource_type is not None:
            built = [r for r in built if r.get_resource_type() == resource_type]
        found.extend(built)
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
