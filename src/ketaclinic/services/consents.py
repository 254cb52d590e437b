"""Consents: record, withdraw and ask "may this patient's data be used for X?".

Treatment consent is a pre-dose check of every session; REMS patient enrolment goes on the
esketamine REMS form. Research use (the de-identified registry, research exports, the
researcher's FHIR view) needs an active research consent; the question is always asked at a
point in time so an export is judged by the consents in force when it ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.errors import InvalidInput, NotFound
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import RequestContext
from ketaclinic.services.patients import get_patient_row
from ketaclinic.storage.database import atomic
from ketaclinic.storage.tables.consents import ConsentRow
from ketaclinic.storage.tables.types import new_id


class ConsentKind(StrEnum):
    TREATMENT = "treatment"
    RESEARCH = "research"
    REMS_ENROLMENT = "rems-enrolment"


class ConsentStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


# How the pages name each kind (the REMS enrolment is the patient's SPRAVATO REMS enrolment form).
KIND_LABELS = {
    ConsentKind.TREATMENT: "Treatment consent",
    ConsentKind.REMS_ENROLMENT: "SPRAVATO REMS patient enrolment (esketamine)",
    ConsentKind.RESEARCH: "Research use of de-identified data",
}


@dataclass(frozen=True)
class ConsentRecord:
    consent_id: str
    patient_id: str
    kind: ConsentKind
    status: ConsentStatus
    given_at: datetime
    withdrawn_at: datetime | None
    recorded_by: str
    document_ref: str | None
    obtained_by: str | None = None
    withdrawn_by: str | None = None
    withdrawal_reason: str | None = None
    notes: str | None = None

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]


def _kind(value: ConsentKind | str) -> ConsentKind:
    try:
        return ConsentKind(value)
    except ValueError:
        allowed = ", ".join(k.value for k in ConsentKind)
        raise InvalidInput(
            f"Unknown consent kind '{value}'. Use one of: {allowed}.", field="kind"
        ) from None


def _record(row: ConsentRow) -> ConsentRecord:
    return ConsentRecord(
        consent_id=row.id,
        patient_id=row.patient_id,
        kind=ConsentKind(row.kind),
        status=ConsentStatus(row.status),
        given_at=row.given_at,
        withdrawn_at=row.withdrawn_at,
        recorded_by=row.recorded_by,
        document_ref=row.document_ref,
        obtained_by=row.obtained_by,
        withdrawn_by=row.withdrawn_by,
        withdrawal_reason=row.withdrawal_reason,
        notes=row.notes,
    )


def _optional_text(value: str | None, field: str, limit: int) -> str | None:
    text = (value or "").strip()
    if len(text) > limit:
        raise InvalidInput(f"Keep this under {limit} characters.", field=field)
    return text or None


def record_consent(
    db: Session,
    ctx: RequestContext,
    patient_id: str,
    kind: ConsentKind | str,
    *,
    given_at: datetime | None = None,
    document_ref: str | None = None,
    notes: str | None = None,
    consent_id: str | None = None,
    obtained_by: str | None = None,
) -> ConsentRecord:
    """Record a signed consent; a second active consent of the same kind is refused.

    ``obtained_by`` is the clinician who explained and took the signature; it defaults to the
    person recording it.
    """
    consent_kind = _kind(kind)
    document_ref = _optional_text(document_ref, "document_ref", 300)
    obtained = _optional_text(obtained_by, "obtained_by", 200) or ctx.actor.display_name
    when = given_at or ctx.now
    if when.tzinfo is None:
        raise InvalidInput("The consent time needs a time zone.", field="given_at")
    if when > ctx.now:
        raise InvalidInput(
            f"The consent time {when.isoformat()} is in the future.", field="given_at"
        )
    with atomic(db):
        get_patient_row(db, patient_id)
        if active_consent(db, patient_id, consent_kind, at=ctx.now) is not None:
            raise InvalidInput(
                f"This patient already has an active {consent_kind.value} consent; "
                "withdraw it first to record a new one.",
                field="kind",
            )
        row = ConsentRow(
            id=consent_id or new_id(),
            patient_id=patient_id,
            kind=consent_kind.value,
            status=ConsentStatus.ACTIVE.value,
            given_at=when,
            recorded_by=ctx.actor.display_name,
            obtained_by=obtained,
            document_ref=document_ref,
            notes=_optional_text(notes, "notes", 2000),
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        db.add(row)
        db.flush()
        record_event(
            db,
            ctx.actor,
            "consent.record",
            "consent",
            row.id,
            patient_id=patient_id,
            detail={"kind": consent_kind.value},
            now=ctx.now,
        )
    return _record(row)


def withdraw_consent(
    db: Session, ctx: RequestContext, consent_id: str, *, reason: str | None = None
) -> ConsentRecord:
    """Mark a consent withdrawn from now on; what was done under it before stays lawful.

    A patient need not give a reason, so ``reason`` is optional; who recorded it is kept.
    """
    why = _optional_text(reason, "reason", 2000)
    with atomic(db):
        row = db.get(ConsentRow, consent_id)
        if row is None:
            raise NotFound(f"No consent with id {consent_id}.", field="consent_id")
        if row.status == ConsentStatus.WITHDRAWN.value:
            raise InvalidInput("This consent was already withdrawn.", field="consent_id")
        row.status = ConsentStatus.WITHDRAWN.value
        row.withdrawn_at = ctx.now
        row.withdrawn_by, row.withdrawal_reason = ctx.actor.display_name, why
        row.updated_at = ctx.now
        db.flush()
        record_event(
            db,
            ctx.actor,
            "consent.withdraw",
            "consent",
            row.id,
            patient_id=row.patient_id,
            detail={"kind": row.kind},
            now=ctx.now,
        )
    return _record(row)


def consent_register(db: Session, ctx: RequestContext, patient_id: str) -> list[ConsentRecord]:
    """A patient's consents, newest first, as a page shows them (an audited read)."""
    get_patient_row(db, patient_id)
    found = list(reversed(list_consents(db, patient_id)))
    record_event(
        db, ctx.actor, "consent.read", "patient", patient_id, patient_id=patient_id,
        detail={"consents": len(found)}, now=ctx.now,
    )  # fmt: skip
    return found


def get_consent(db: Session, consent_id: str) -> ConsentRecord:
    row = db.get(ConsentRow, consent_id)
    if row is None:
        raise NotFound(f"No consent with id {consent_id}.", field="consent_id")
    return _record(row)


def list_consents(db: Session, patient_id: str | None = None) -> list[ConsentRecord]:
    query = select(ConsentRow).order_by(ConsentRow.given_at, ConsentRow.id)
    if patient_id is not None:
        query = query.where(ConsentRow.patient_id == patient_id)
    return [_record(row) for row in db.scalars(query)]


def active_consent(
    db: Session, patient_id: str, kind: ConsentKind | str, *, at: datetime
) -> ConsentRecord | None:
    """The consent of ``kind`` in force at ``at`` (given before it, not withdrawn by then)."""
    consent_kind = _kind(kind)
    rows = db.scalars(
        select(ConsentRow).where(
            ConsentRow.patient_id == patient_id, ConsentRow.kind == consent_kind.value
        )
    )
    for row in rows:
        if row.given_at <= at and (row.withdrawn_at is None or row.withdrawn_at > at):
            return _record(row)
    return None


def research_consented_patient_ids(db: Session, *, at: datetime) -> list[str]:
    """Every patient whose research consent is in force at ``at``, sorted for stable exports."""
    rows = db.scalars(select(ConsentRow).where(ConsentRow.kind == ConsentKind.RESEARCH.value))
    return sorted(
        {
            row.patient_id
            for row in rows
            if row.given_at <= at and (row.withdrawn_at is None or row.withdrawn_at > at)
        }
    )
