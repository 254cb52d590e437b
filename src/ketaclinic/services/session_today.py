"""Views of supervised sessions: the checkpoints of one session and the Today list of a clinic day.

Read-only; both answer "at a given time" so a page, a test or a report can ask about any moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical.policy import ProtocolKind
from ketaclinic.clinical.sessions.checkpoints import (
    CheckpointState,
    CheckpointStatus,
    session_checkpoints,
)
from ketaclinic.reports.rems_pdf import render_session_record_pdf
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import RequestContext
from ketaclinic.services.policy import clinic_policy
from ketaclinic.services.session_steps import read_record
from ketaclinic.services.session_store import load_record
from ketaclinic.storage.tables.patients import PatientRow
from ketaclinic.storage.tables.sessions import SupervisedSessionRow


def checkpoints(
    db: Session, ctx: RequestContext, session_id: str, *, at: datetime | None = None
) -> list[CheckpointStatus]:
    """Each checkpoint's state (upcoming, due, late, missed, done, done late) at ``at``."""
    record = read_record(db, ctx, session_id, "checkpoints.read")
    return session_checkpoints(record, clinic_policy(db, record.protocol_kind), now=at or ctx.now)


def session_record_pdf(db: Session, ctx: RequestContext, session_id: str) -> bytes:
    """The session record as PDF (draft until signed; addenda after the signature)."""
    return render_session_record_pdf(read_record(db, ctx, session_id, "record.pdf"), ctx.clinic_tz)


@dataclass(frozen=True)
class TodayEntry:
    """One line of the Today page."""

    session_id: str
    patient_id: str
    patient_name: str
    mrn: str
    scheduled_for: datetime
    protocol_kind: ProtocolKind
    state: str
    chair: str | None
    room: str | None
    responsible_clinician: str | None
    open_alerts: int
    worst_open_severity: str | None
    late_checkpoints: int
    missed_checkpoints: int
    next_checkpoint_at: datetime | None


_SEVERITY_ORDER = ("warning", "urgent", "critical")


def today_list(
    db: Session, ctx: RequestContext, day: date, clinic_tz: tzinfo, *, audit: bool = True
) -> list[TodayEntry]:
    """Every session scheduled on ``day`` (a calendar day in the clinic's time zone).

    ``audit=False`` leaves the audit entry to the caller (the Today board writes one entry for
    all it shows, and not on every refresh).
    """
    start = datetime.combine(day, time(0, 0), tzinfo=clinic_tz)
    rows = db.scalars(
        select(SupervisedSessionRow)
        .where(
            SupervisedSessionRow.scheduled_for >= start,
            SupervisedSessionRow.scheduled_for < start + timedelta(days=1),
        )
        .order_by(SupervisedSessionRow.scheduled_for, SupervisedSessionRow.id)
    ).all()
    entries: list[TodayEntry] = []
    for row in rows:
        record = load_record(db, row)
        patient = db.get(PatientRow, row.patient_id)
        assert patient is not None
        points = session_checkpoints(record, clinic_policy(db, record.protocol_kind), now=ctx.now)
        open_points = [p for p in points if p.state is CheckpointState.UPCOMING]
        severities = [a.finding.severity.value for a in record.open_alerts]
        entries.append(
            TodayEntry(
                session_id=row.id, patient_id=row.patient_id,
                patient_name=f"{patient.given_name} {patient.family_name}", mrn=patient.mrn,
                scheduled_for=row.scheduled_for, protocol_kind=record.protocol_kind,
                state=record.state.value, chair=row.chair, room=row.room,
                responsible_clinician=row.responsible_clinician,
                open_alerts=len(severities),
                worst_open_severity=max(severities, key=_SEVERITY_ORDER.index)
                if severities else None,
                late_checkpoints=sum(p.state is CheckpointState.LATE for p in points),
                missed_checkpoints=sum(p.state is CheckpointState.MISSED for p in points),
                next_checkpoint_at=min((p.checkpoint.due_at for p in open_points), default=None),
            )
        )  # fmt: skip
    if audit:
        record_event(
            db, ctx.actor, "session.today.read", "session", None,
            detail={"day": day.isoformat(), "sessions": len(entries)}, now=ctx.now,
        )  # fmt: skip
    return entries
