"""Safety across a course, persisted: adverse events, tasks, flags, bladder screens, misuse signals.

The clinical core decides (seriousness and its tasks, a worse bladder screen, a misuse signal, a
positive suicide screen); this module stores the event with the tasks and flags it produced in one
savepoint with the audit entry, and lets a clinician complete a task or resolve a flag with a note.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical.policy import ProtocolKind
from ketaclinic.clinical.questionnaires import ScoreResult
from ketaclinic.clinical.safety.adverse_events import (
    AdverseEvent,
    record_adverse_event,
    rems_correction_task,
)
from ketaclinic.clinical.safety.surveillance import (
    BladderScreen,
    CoursePhase,
    MisuseSignal,
    bladder_screen_due,
    evaluate_bladder_screen,
    misuse_flags,
    suicide_screen_outcome,
)
from ketaclinic.clinical.safety.tasks import Flag, Task, TaskKind
from ketaclinic.errors import InvalidInput, NotFound
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import RequestContext
from ketaclinic.services.patients import get_patient_row
from ketaclinic.services.policy import clinic_policy
from ketaclinic.storage.database import atomic
from ketaclinic.storage.tables.safety import (
    AdverseEventRow,
    BladderScreenRow,
    MisuseSignalRow,
    SafetyFlagRow,
    SafetyTaskRow,
)
from ketaclinic.storage.tables.sessions import SupervisedSessionRow
from ketaclinic.storage.tables.types import new_id

# Racemic IV is the clinic's most common protocol; used for course-level rules when a patient has
# no session yet (the course-level parameters are the same for every kind).
_DEFAULT_KIND = ProtocolKind.IV_RACEMIC


@dataclass(frozen=True)
class SafetyOutcome:
    """What a safety use case stored: ids of the record, the tasks and the flags."""

    record_id: str | None
    task_ids: tuple[str, ...] = ()
    flag_ids: tuple[str, ...] = ()


def _patient_kind_and_clinician(
    db: Session, patient_id: str, session_id: str | None = None
) -> tuple[ProtocolKind, str | None]:
    query = select(SupervisedSessionRow).where(SupervisedSessionRow.patient_id == patient_id)
    if session_id is not None:
        query = query.where(SupervisedSessionRow.id == session_id)
    row = db.scalars(query.order_by(SupervisedSessionRow.scheduled_for.desc())).first()
    if session_id is not None and row is None:
        raise NotFound(f"No session {session_id} for this patient.", field="session_id")
    if row is None:
        return _DEFAULT_KIND, None
    return ProtocolKind(row.protocol_kind), row.responsible_clinician


def _store(
    db: Session, ctx: RequestContext, tasks: Iterable[Task], flags: Iterable[Flag]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    task_ids: list[str] = []
    for task in tasks:
        duplicate = db.scalars(
            select(SafetyTaskRow.id).where(
                SafetyTaskRow.patient_id == task.patient_id,
                SafetyTaskRow.kind == task.kind.value,
                SafetyTaskRow.status == "open",
                SafetyTaskRow.due_at == task.due_at,
                SafetyTaskRow.related_id == task.related_id
                if task.related_id
                else SafetyTaskRow.related_id.is_(None),
            )
        ).first()
        if duplicate is not None:  # the same screen charted twice (session and questionnaire)
            task_ids.append(duplicate)
            continue
        row = SafetyTaskRow(
            id=new_id(), patient_id=task.patient_id, kind=task.kind.value, due_at=task.due_at,
            reason=task.reason, source=task.source.model_dump(mode="json"),
            assignee_role=task.assignee_role, assignee=task.assignee, related_id=task.related_id,
            status="open", created_at=ctx.now, updated_at=ctx.now,
        )  # fmt: skip
        db.add(row)
        task_ids.append(row.id)
    flag_ids: list[str] = []
    for flag in flags:
        row_f = SafetyFlagRow(
            id=new_id(), patient_id=flag.patient_id, kind=flag.kind.value,
            raised_at=flag.raised_at, reason=flag.reason,
            source=flag.source.model_dump(mode="json"),
            for_role=flag.for_role, severity=flag.severity, related_id=flag.related_id,
            status="open", created_at=ctx.now, updated_at=ctx.now,
        )  # fmt: skip
        db.add(row_f)
        flag_ids.append(row_f.id)
    db.flush()
    return tuple(task_ids), tuple(flag_ids)


def record_adverse_event_for(
    db: Session, ctx: RequestContext, data: Mapping[str, Any]
) -> SafetyOutcome:
    """Store an adverse event; a serious one also stores its review and reporting tasks."""
    patient_id = str(data.get("patient_id") or "")
    session_id = data.get("session_id")
    event_id = str(data.get("id") or new_id())
    with atomic(db):
        get_patient_row(db, patient_id)
        kind, clinician = _patient_kind_and_clinician(
            db, patient_id, str(session_id) if session_id else None
        )
        values = {"recorded_by": ctx.actor.display_name, "recorded_at": ctx.now} | dict(data)
        event, tasks, flags = record_adverse_event(
            values | {"id": event_id},
            clinic_policy(db, kind),
            responsible_clinician=clinician,
            clinic_tz=ctx.clinic_tz,
        )
        db.add(
            AdverseEventRow(
                id=event.id, patient_id=event.patient_id, session_id=event.session_id,
                verbatim_term=event.verbatim_term, term_id=event.term_id,
                onset_at=event.onset_at, resolved_at=event.resolved_at,
                severity=event.severity.value, seriousness=list(event.seriousness),
                relatedness=event.relatedness.value, action_taken=event.action_taken.value,
                outcome=event.outcome.value, recorded_by=event.recorded_by,
                recorded_at=event.recorded_at, created_at=ctx.now, updated_at=ctx.now,
            )
        )  # fmt: skip
        db.flush()
        tasks += _rems_follow_up(db, ctx, event, clinician)
        task_ids, flag_ids = _store(db, ctx, tasks, flags)
        record_event(
            db, ctx.actor, "safety.adverse_event.record", "adverse_event", event.id,
            patient_id=patient_id,
            detail={"term": event.term_id, "serious": event.is_serious, "tasks": len(task_ids)},
            now=ctx.now,
        )  # fmt: skip
    return SafetyOutcome(event.id, task_ids, flag_ids)


def _rems_follow_up(
    db: Session, ctx: RequestContext, event: AdverseEvent, clinician: str | None
) -> list[Task]:
    """An event of a closed esketamine session updates its REMS form, or (finalised) a task."""
    if event.session_id is None:
        return []
    # Imported here: the REMS service reads this module's adverse events.
    from ketaclinic.services import rems

    late = rems.refresh_after_adverse_event(db, ctx, event.session_id)
    if late is None:
        return []
    task = rems_correction_task(
        event, finalised_at=late.finalised_at, submitted=late.submitted, fields=late.fields,
        policy=clinic_policy(db, ProtocolKind.INTRANASAL_ESKETAMINE),
        responsible_clinician=clinician,
    )  # fmt: skip
    return [task]


def adverse_events(
    db: Session, *, patient_id: str | None = None, session_id: str | None = None
) -> list[AdverseEvent]:
    query = select(AdverseEventRow).order_by(AdverseEventRow.onset_at, AdverseEventRow.id)
    if patient_id is not None:
        query = query.where(AdverseEventRow.patient_id == patient_id)
    if session_id is not None:
        query = query.where(AdverseEventRow.session_id == session_id)
    return [
        AdverseEvent(
            id=r.id, patient_id=r.patient_id, session_id=r.session_id,
            verbatim_term=r.verbatim_term, term_id=r.term_id, onset_at=r.onset_at,
            resolved_at=r.resolved_at, severity=r.severity, seriousness=tuple(r.seriousness),
            relatedness=r.relatedness, action_taken=r.action_taken, outcome=r.outcome,
            recorded_by=r.recorded_by, recorded_at=r.recorded_at,
        )
        for r in db.scalars(query)
    ]  # fmt: skip


def record_bladder_screen(
    db: Session,
    ctx: RequestContext,
    patient_id: str,
    symptoms: Sequence[str],
    *,
    taken_at: datetime | None = None,
) -> SafetyOutcome:
    """Store a urinary/bladder screen; new or red-flag symptoms raise a flag and a referral."""
    when = taken_at or ctx.now
    if when > ctx.now:
        raise InvalidInput("The screen cannot be dated in the future.", field="taken_at")
    current = BladderScreen(taken_at=when, symptoms=frozenset(symptoms))
    with atomic(db):
        get_patient_row(db, patient_id)
        kind, clinician = _patient_kind_and_clinician(db, patient_id)
        prior = db.scalars(
            select(BladderScreenRow)
            .where(BladderScreenRow.patient_id == patient_id, BladderScreenRow.taken_at <= when)
            .order_by(BladderScreenRow.taken_at.desc())
        ).first()
        previous = (
            BladderScreen(taken_at=prior.taken_at, symptoms=frozenset(prior.symptoms))
            if prior
            else None
        )
        outcome = evaluate_bladder_screen(
            patient_id,
            current,
            previous,
            clinic_policy(db, kind),
            prescriber=clinician,
            clinic_tz=ctx.clinic_tz,
        )
        row = BladderScreenRow(
            id=new_id(), patient_id=patient_id, taken_at=when, symptoms=sorted(symptoms),
            recorded_by=ctx.actor.display_name, recorded_at=ctx.now,
        )  # fmt: skip
        db.add(row)
        db.flush()
        tasks = [t.model_copy(update={"related_id": row.id}) for t in outcome.tasks]
        flags = [f.model_copy(update={"related_id": row.id}) for f in outcome.flags]
        task_ids, flag_ids = _store(db, ctx, tasks, flags)
        record_event(
            db, ctx.actor, "safety.bladder_screen.record", "bladder_screen", row.id,
            patient_id=patient_id, detail={"symptoms": sorted(symptoms), "flagged": bool(flags)},
            now=ctx.now,
        )  # fmt: skip
    return SafetyOutcome(row.id, task_ids, flag_ids)


def next_bladder_screen(
    db: Session,
    ctx: RequestContext,
    patient_id: str,
    phase: CoursePhase,
    *,
    maintenance_started_at: datetime | None = None,
) -> datetime | None:
    """When the patient's next bladder screen is due (None outside maintenance)."""
    last = db.scalars(
        select(BladderScreenRow.taken_at)
        .where(BladderScreenRow.patient_id == patient_id)
        .order_by(BladderScreenRow.taken_at.desc())
    ).first()
    kind, _ = _patient_kind_and_clinician(db, patient_id)
    return bladder_screen_due(
        phase, last, clinic_policy(db, kind), now=ctx.now,
        maintenance_started_at=maintenance_started_at,
    )  # fmt: skip


def record_misuse_signal(
    db: Session,
    ctx: RequestContext,
    patient_id: str,
    kind: str,
    detail: str,
    *,
    at: datetime | None = None,
) -> SafetyOutcome:
    """A misuse or dependence signal: a prescriber flag and a same-day review task."""
    when = at or ctx.now
    try:
        signal = MisuseSignal(kind=kind, at=when, detail=detail, recorded_by=ctx.actor.display_name)
    except ValueError as exc:
        raise InvalidInput(f"Misuse signal not recorded: {exc}", field="detail") from exc
    with atomic(db):
        get_patient_row(db, patient_id)
        _, clinician = _patient_kind_and_clinician(db, patient_id)
        outcome = misuse_flags(patient_id, [signal], prescriber=clinician, clinic_tz=ctx.clinic_tz)
        row = MisuseSignalRow(
            id=new_id(), patient_id=patient_id, kind=kind, at=when, detail=detail,
            recorded_by=ctx.actor.display_name,
        )  # fmt: skip
        db.add(row)
        db.flush()
        tasks = [t.model_copy(update={"related_id": row.id}) for t in outcome.tasks]
        flags = [f.model_copy(update={"related_id": row.id}) for f in outcome.flags]
        task_ids, flag_ids = _store(db, ctx, tasks, flags)
        record_event(
            db, ctx.actor, "safety.misuse_signal.record", "misuse_signal", row.id,
            patient_id=patient_id, detail={"kind": kind}, now=ctx.now,
        )  # fmt: skip
    return SafetyOutcome(row.id, task_ids, flag_ids)


def suicide_screen_followup(
    db: Session,
    ctx: RequestContext,
    patient_id: str,
    *,
    screened_at: datetime,
    phq9_item9: int | None,
    cssrs_risk: str | None,
    related_id: str | None = None,
) -> SafetyOutcome:
    """A same-day risk-assessment task and a flag for a positive PHQ-9 item 9 or C-SSRS."""
    with atomic(db):
        kind, clinician = _patient_kind_and_clinician(db, patient_id)
        outcome = suicide_screen_outcome(
            patient_id, screened_at=screened_at, phq9_item9=phq9_item9, cssrs_risk=cssrs_risk,
            policy=clinic_policy(db, kind), responsible_clinician=clinician,
            clinic_tz=ctx.clinic_tz,
        )  # fmt: skip
        if not outcome.tasks:
            return SafetyOutcome(None)
        tasks = [t.model_copy(update={"related_id": related_id}) for t in outcome.tasks]
        flags = [f.model_copy(update={"related_id": related_id}) for f in outcome.flags]
        # One same-day assessment per patient and day, however many forms showed the risk.
        known = _open_task_ids(db, patient_id, TaskKind.SUICIDE_RISK_ASSESSMENT, tasks[0].due_at)
        task_ids, flag_ids = (tuple(known), ()) if known else _store(db, ctx, tasks, flags)
        record_event(
            db, ctx.actor, "safety.suicide_screen.positive", "patient", patient_id,
            patient_id=patient_id, detail={"phq9_item9": phq9_item9, "cssrs_risk": cssrs_risk},
            now=ctx.now,
        )  # fmt: skip
    return SafetyOutcome(None, task_ids, flag_ids)


def _open_task_ids(db: Session, patient_id: str, kind: TaskKind, due_at: datetime) -> list[str]:
    return list(
        db.scalars(
            select(SafetyTaskRow.id).where(
                SafetyTaskRow.patient_id == patient_id,
                SafetyTaskRow.kind == kind.value,
                SafetyTaskRow.status == "open",
                SafetyTaskRow.due_at == due_at,
            )
        )
    )


def questionnaire_followup(
    db: Session, ctx: RequestContext, patient_id: str, result: ScoreResult, *, at: datetime,
    response_id: str,
) -> SafetyOutcome:  # fmt: skip
    """The hook ``services.measurement`` calls after storing a PHQ-9 or C-SSRS screener."""
    if result.instrument == "phq9":
        item9 = result.item_answers.get("q9")
        return suicide_screen_followup(
            db, ctx, patient_id, screened_at=at, phq9_item9=int(item9) if item9 is not None
            else None, cssrs_risk=None, related_id=response_id,
        )  # fmt: skip
    if result.instrument == "cssrs-screener":
        risk = result.extras.get("risk")
        return suicide_screen_followup(
            db, ctx, patient_id, screened_at=at, phq9_item9=None,
            cssrs_risk=str(risk) if risk is not None else None, related_id=response_id,
        )  # fmt: skip
    return SafetyOutcome(None)


def open_tasks(db: Session, *, patient_id: str | None = None) -> list[SafetyTaskRow]:
    query = select(SafetyTaskRow).where(SafetyTaskRow.status == "open")
    if patient_id is not None:
        query = query.where(SafetyTaskRow.patient_id == patient_id)
    return list(db.scalars(query.order_by(SafetyTaskRow.due_at, SafetyTaskRow.id)))


def open_flags(db: Session, *, patient_id: str | None = None) -> list[SafetyFlagRow]:
    query = select(SafetyFlagRow).where(SafetyFlagRow.status == "open")
    if patient_id is not None:
        query = query.where(SafetyFlagRow.patient_id == patient_id)
    return list(db.scalars(query.order_by(SafetyFlagRow.raised_at, SafetyFlagRow.id)))
