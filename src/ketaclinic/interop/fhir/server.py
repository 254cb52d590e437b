"""Read and search over the FHIR view of the record, scoped to what the caller may see.

Three views: staff with chart access see every patient identified; a patient sees their own
record; a researcher (or an administrator, who has no chart access) sees research-consented
patients de-identified. Resources are built on demand from the database, per patient and only
of the requested type (only the records and mappers that type is made from): a read finds its
patient by a table lookup (``locate``) and builds that one record; a search narrowed by
``patient`` touches one record; an unnarrowed one walks every visible patient for that type,
which suits a clinic-sized database (a network uses the bulk export instead).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.resource import Resource
from sqlalchemy.orm import Session

from ketaclinic.clinical.questionnaires import list_instruments
from ketaclinic.errors import InvalidInput, NotFound, PermissionDenied
from ketaclinic.interop.deidentify import Deidentifier
from ketaclinic.interop.fhir.export import definitions_for, resources_for
from ketaclinic.interop.fhir.locate import owner_of
from ketaclinic.interop.fhir.mappers import produced_types
from ketaclinic.interop.fhir.search_params import (
    CODE_PATHS,
    matches_codes,
    matches_dates,
    parse_date,
    supported,
)
from ketaclinic.interop.fhir.source import all_patient_ids
from ketaclinic.services.consents import research_consented_patient_ids
from ketaclinic.services.context import RequestContext

DEFINITIONS = ("Questionnaire", "CodeSystem")
SEARCHABLE = (*sorted(produced_types()), *DEFINITIONS)
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class FhirView:
    patient_ids: tuple[str, ...] | None  # None = every patient
    deidentifier: Deidentifier | None
    identified: bool


def view_for(
    db: Session, ctx: RequestContext, *, can_read_charts: bool, can_read_research: bool,
    deidentifier: Deidentifier,
) -> FhirView:  # fmt: skip
    actor = ctx.actor
    if actor.role == "patient":
        if actor.patient_id is None:
            raise PermissionDenied("This patient account is not linked to a record.")
        return FhirView((actor.patient_id,), None, identified=True)
    if can_read_charts:
        return FhirView(None, None, identified=True)
    if can_read_research:
        ids = tuple(research_consented_patient_ids(db, at=ctx.now))
        return FhirView(ids, deidentifier, identified=False)
    raise PermissionDenied(f"Your role ({actor.role}) may not read clinical data.")


def _visible_ids(db: Session, view: FhirView, patient: str | None) -> Sequence[str]:
    visible = list(view.patient_ids) if view.patient_ids is not None else all_patient_ids(db)
    if patient is None:
        return visible
    wanted = patient.removeprefix("Patient/")
    if view.deidentifier is None:
        return [wanted] if wanted in visible else []
    # De-identified ids are pseudonyms: find the source patient whose pseudonym was asked for.
    return [p for p in visible if view.deidentifier.pseudonym(p) == wanted]


def _check_type(resource_type: str) -> None:
    if resource_type not in SEARCHABLE:
        allowed = ", ".join(SEARCHABLE)
        raise NotFound(
            f"Unknown resource type '{resource_type}'. This server has: {allowed}.", field="type"
        )


def _definitions(resource_type: str) -> Iterator[dict[str, Any]]:
    for resource in definitions_for({i.id for i in list_instruments()}):
        if resource.get_resource_type() == resource_type:
            yield resource.model_dump(mode="json", exclude_none=True)


def _of_patient(
    db: Session, view: FhirView, resource_type: str, patient_id: str
) -> Iterator[Resource]:
    # Only the records and mappers the requested type is built from (a Patient search reads
    # patient rows only; an Observation one observations, readings and questionnaires).
    _, resources = resources_for(db, patient_id, view.deidentifier, resource_type)
    yield from resources


def _as_json(resource: Resource) -> dict[str, Any]:
    return resource.model_dump(mode="json", exclude_none=True)


def _code_view(resource: Resource) -> dict[str, Any]:
    """The resource type and its searched code element only: most resources of a code search
    do not match, and serialising whole resources to test them was half the search's time."""
    kind = resource.get_resource_type()
    path = CODE_PATHS.get(kind)
    element = getattr(resource, path, None) if path else None
    if element is None:
        return {"resourceType": kind}
    return {"resourceType": kind, str(path): element.model_dump(mode="json", exclude_none=True)}


def _resources(
    db: Session,
    view: FhirView,
    resource_type: str,
    patient: str | None,
    codes: Sequence[str] = (),
) -> Iterator[dict[str, Any]]:
    """The visible resources of one type as JSON, those matching ``codes`` when given."""
    _check_type(resource_type)
    if resource_type in DEFINITIONS:
        if patient is None:
            yield from _definitions(resource_type)
        return
    for patient_id in _visible_ids(db, view, patient):
        for resource in _of_patient(db, view, resource_type, patient_id):
            if not codes or matches_codes(_code_view(resource), codes):
                yield _as_json(resource)


def read(db: Session, view: FhirView, resource_type: str, resource_id: str) -> dict[str, Any]:
    _check_type(resource_type)
    if resource_type in DEFINITIONS:
        candidates: Iterator[dict[str, Any]] = _definitions(resource_type)
    else:
        owner = owner_of(
            db, resource_type, resource_id,
            visible=view.patient_ids, deidentifier=view.deidentifier,
        )  # fmt: skip
        built: Iterable[Resource] = (
            () if owner is None else _of_patient(db, view, resource_type, owner)
        )
        candidates = (_as_json(r) for r in built)
    for resource in candidates:
        if resource.get("id") == resource_id:
            return resource
    # Not found and not visible read the same, so ids of other patients cannot be probed.
    raise NotFound(f"{resource_type}/{resource_id} does not exist or is not visible to you.")


def search(
    db: Session,
    view: FhirView,
    resource_type: str,
    *,
    patient: str | None = None,
    codes: Sequence[str] = (),
    dates: Sequence[str] = (),
) -> list[dict[str, Any]]:
    _check_type(resource_type)
    allowed = supported(resource_type) if resource_type not in DEFINITIONS else {}
    for name, given in (("patient", patient), ("code", codes), ("date", dates)):
        if given and name not in allowed:
            offered = ", ".join(allowed) or "none (read them all, or by id)"
            raise InvalidInput(
                f"{resource_type} cannot be searched by {name} here; its search parameters: "
                f"{offered}.",
                field=name,
            )
    criteria = [parse_date(d) for d in dates]
    if patient is not None and resource_type == "Patient":
        # Patient?patient=X is the patient X itself (in every view, X names the visible id).
        return list(_resources(db, view, resource_type, patient))
    return [
        resource
        for resource in _resources(db, view, resource_type, patient, codes)
        if matches_dates(resource, criteria)
    ]


def page_size(raw: int | None) -> int:
    if raw is None:
        return 20
    # _count=0 asks for the total only (FHIR search, "Paging"); fhirpy's count() uses it.
    if not 0 <= raw <= MAX_PAGE_SIZE:
        raise InvalidInput(f"_count must be between 0 and {MAX_PAGE_SIZE}.", field="_count")
    return raw


def everything(db: Session, view: FhirView, patient: str) -> list[dict[str, Any]]:
    """``Patient/<id>/$everything``: the patient's resources and the definitions they use."""
    visible = _visible_ids(db, view, patient)
    if not visible:
        raise NotFound(f"Patient/{patient} does not exist or is not visible to you.")
    data, resources = resources_for(db, visible[0], view.deidentifier)
    resources.extend(definitions_for({r.instrument_id for r in data.responses}))
    return [r.model_dump(mode="json", exclude_none=True) for r in resources]
