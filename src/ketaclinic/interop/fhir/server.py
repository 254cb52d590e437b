"""Read and search over the FHIR view of the record, scoped to what the caller may see.

Three views: staff with chart access see every patient identified; a patient sees their own
record; a researcher (or an administrator, who has no chart access) sees research-consented
patients de-identified. Resources are built on demand from the database, per patient, so a search
narrowed by ``patient`` touches one record; an unnarrowed one walks every visible patient, which
suits a clinic-sized database (a network uses the bulk export instead).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ketaclinic.clinical.questionnaires import list_instruments
from ketaclinic.errors import InvalidInput, NotFound, PermissionDenied
from ketaclinic.interop.deidentify import Deidentifier
from ketaclinic.interop.fhir.export import definitions_for, resources_for
from ketaclinic.interop.fhir.mappers import MAPPERS
from ketaclinic.interop.fhir.source import all_patient_ids
from ketaclinic.services.consents import research_consented_patient_ids
from ketaclinic.services.context import RequestContext

SEARCHABLE = (*sorted(MAPPERS), "Questionnaire", "CodeSystem")
SEARCH_PARAMETERS = {"patient": "reference", "code": "token", "date": "date"}
# Where each resource type keeps its clinically relevant date.
_DATE_FIELDS = (
    "effectiveDateTime",
    "authored",
    "onsetDateTime",
    "dateTime",
    "date",
    "recordedDate",
)
_PERIOD_FIELDS = ("period", "effectivePeriod")
_PATIENT_FIELDS = ("subject", "patient")
_DATE_PREFIXES = ("eq", "ne", "ge", "le", "gt", "lt")
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


def _resources(
    db: Session, view: FhirView, resource_type: str, patient: str | None
) -> Iterator[dict[str, Any]]:
    if resource_type not in SEARCHABLE:
        allowed = ", ".join(SEARCHABLE)
        raise NotFound(
            f"Unknown resource type '{resource_type}'. This server has: {allowed}.", field="type"
        )
    if resource_type in ("Questionnaire", "CodeSystem"):
        if patient is None:
            for resource in definitions_for({i.id for i in list_instruments()}):
                if resource.get_resource_type() == resource_type:
                    yield resource.model_dump(mode="json", exclude_none=True)
        return
    for patient_id in _visible_ids(db, view, patient):
        _, resources = resources_for(db, patient_id, view.deidentifier)
        for resource in resources:
            if resource.get_resource_type() == resource_type:
                yield resource.model_dump(mode="json", exclude_none=True)


def read(db: Session, view: FhirView, resource_type: str, resource_id: str) -> dict[str, Any]:
    for resource in _resources(db, view, resource_type, None):
        if resource.get("id") == resource_id:
            return resource
    # Not found and not visible read the same, so ids of other patients cannot be probed.
    raise NotFound(f"{resource_type}/{resource_id} does not exist or is not visible to you.")


def _matches_code(resource: dict[str, Any], token: str) -> bool:
    system, _, code = token.rpartition("|")
    for coding in (
        resource.get("code", {}).get("coding", []) if isinstance(resource.get("code"), dict) else []
    ):
        if coding.get("code") == code and (not system or coding.get("system") == system):
            return True
    return False


def _parse_date(raw: str) -> tuple[str, str]:
    prefix, value = (raw[:2], raw[2:]) if raw[:2] in _DATE_PREFIXES else ("eq", raw)
    if len(value) < 4 or not value[:4].isdigit():
        raise InvalidInput(
            f"date={raw} is not a FHIR date: use YYYY, YYYY-MM, YYYY-MM-DD or a date-time, "
            f"optionally prefixed with one of {', '.join(_DATE_PREFIXES)}.",
            field="date",
        )
    return prefix, value


def _matches_date(resource: dict[str, Any], prefix: str, value: str) -> bool:
    found = next((resource[f] for f in _DATE_FIELDS if f in resource), None)
    if found is None:
        # Encounter, CarePlan, Flag, MedicationAdministration: the start of their period.
        found = next((resource[f].get("start") for f in _PERIOD_FIELDS if f in resource), None)
    if not isinstance(found, str):
        return False
    # ISO strings of one zone (UTC here) order like the instants; comparing at the precision
    # of the parameter makes eq2026-02 match every time in that month.
    moment = found[: len(value)]
    return {
        "eq": moment == value, "ne": moment != value, "ge": moment >= value,
        "le": moment <= value, "gt": moment > value, "lt": moment < value,
    }[prefix]  # fmt: skip


def search(
    db: Session,
    view: FhirView,
    resource_type: str,
    *,
    patient: str | None = None,
    codes: Sequence[str] = (),
    dates: Sequence[str] = (),
) -> list[dict[str, Any]]:
    parsed_dates = [_parse_date(d) for d in dates]
    if patient is not None and resource_type == "Patient":
        wanted = patient.removeprefix("Patient/")
        return [r for r in _resources(db, view, resource_type, None) if r["id"] == wanted]
    found = []
    for resource in _resources(db, view, resource_type, patient):
        if codes and not any(
            _matches_code(resource, c) for token in codes for c in token.split(",")
        ):
            continue
        if not all(_matches_date(resource, p, v) for p, v in parsed_dates):
            continue
        found.append(resource)
    return found


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
