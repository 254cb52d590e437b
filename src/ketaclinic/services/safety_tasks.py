"""Acting on safety tasks and flags: a patient's safety record (for the chart's follow-up page),
the open tasks due (for Today), completing a task and resolving a flag, each with a note, who
and when.

The tasks and flags themselves are made by the clinical core and stored by ``services.safety``;
a task or flag names the role that must act (all of today's are for the prescriber: a risk
assessment, a serious-event review, a referral), so a nurse sees them but cannot close them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaclinic.clinical.safety.adverse_events import AdverseEvent
from ketaclinic.clinical.safety.tasks import end_of_day
from ketaclinic.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation
from ketaclinic.services.audit import record_event
from ketaclinic.services.bladder_schedule import ScreenDue, bladder_screen_due, bladder_screens_due
from ketaclinic.services.context import RequestContext
from ketaclinic.services.patients import get_patient_row
from ketaclinic.services.safety import adverse_events, open_flags, open_tasks
from ketaclinic.storage.database import atomic
from ketaclinic.storage.tables.patients import PatientRow
from ketaclinic.storage.tables.safety import (
    BladderScreenRow,
    MisuseSignalRow,
    SafetyFlagRow,
    SafetyTaskRow,
)
from ketaclinic.storage.tables.sessions import SupervisedSessionRow

_NOTE_CHARACTERS = 2000


@dataclass(frozen=True)
class TaskDue:
    task_id: str
    patient_id: str
    patient_name: str
    mrn: str
    kind: str
    reason: str
    due_at: datetime
    assignee_role: str
    assignee: str | None
    overdue: bool


@dataclass(frozen=True)
class TasksDue:
    """Open tasks due by the end of the day (overdue first), and how many are due later."""

    until: datetime
    due: list[TaskDue]
    later: int
    bladder_screens: list[ScreenDue]  # maintenance patients due a bladder screen by ``until``


def tasks_due(db: Session, ctx: RequestContext) -> TasksDue:
    """Every open task due by the end of today, across patients (an audited read)."""
    until = end_of_day(ctx.now.astimezone(ctx.clinic_tz))  # the clinic's day
    open_count = db.scalar(
        select(func.count()).select_from(SafetyTaskRow).where(SafetyTaskRow.status == "open")
    )
    found = db.execute(
        select(SafetyTaskRow, PatientRow)
        .join(PatientRow, PatientRow.id == SafetyTaskRow.patient_id)
        .where(SafetyTaskRow.status == "open", SafetyTaskRow.due_at <= until)
        .order_by(SafetyTaskRow.due_at, SafetyTaskRow.id)
    ).all()
    due = [
        TaskDue(
            task_id=task.id, patient_id=task.patient_id,
            patient_name=f"{patient.given_name} {patient.family_name}", mrn=patient.mrn,
            kind=task.kind, reason=task.reason, due_at=task.due_at,
            assignee_role=task.assignee_role, assignee=task.assignee,
            overdue=task.due_at < ctx.now,
        )
        for task, patient in found
    ]  # fmt: skip
    screens = bladder_screens_due(db, ctx, until)
    record_event(
        db, ctx.actor, "safety.tasks_due.read", "safety_task", None,
        detail={"until": until.isoformat(), "due": len(due), "bladder_screens": len(screens)},
        now=ctx.now,
    )  # fmt: skip
    return TasksDue(
        until=until, due=due, later=int(open_count or 0) - len(due), bladder_screens=screens
    )


@dataclass(frozen=True)
class SafetyRecord:
    """What a clinician acts on for one patient: open tasks and flags, the adverse events, the
    latest bladder screens and misuse signals, and the sessions an event may belong to."""

    tasks: list[SafetyTaskRow]
    flags: list[SafetyFlagRow]
    adverse_events: list[AdverseEvent]
    bladder_screens: list[BladderScreenRow]
    misuse_signals: list[MisuseSignalRow]
    sessions: list[SupervisedSessionRow]
    bladder_screen_due: datetime | None  # None outside maintenance


def safety_record(
    db: Session, ctx: RequestContext, patient_id: str, *, latest: int = 10
) -> SafetyRecord:
    """The patient's safety follow-up (an audited read)."""
    get_patient_row(db, patient_id)
    record = SafetyRecord(
        tasks=open_tasks(db, patient_id=patient_id),
        flags=open_flags(db, patient_id=patient_id),
        adverse_events=adverse_events(db, patient_id=patient_id),
        bladder_screens=list(
            db.scalars(
                select(BladderScreenRow)
                .where(BladderScreenRow.patient_id == patient_id)
                .order_by(BladderScreenRow.taken_at.desc())
                .limit(latest)
            )
        ),
        misuse_signals=list(
            db.scalars(
                select(MisuseSignalRow)
                .where(MisuseSignalRow.patient_id == patient_id)
                .order_by(MisuseSignalRow.at.desc())
                .limit(latest)
            )
        ),
        sessions=list(
            db.scalars(
                select(SupervisedSessionRow)
                .where(SupervisedSessionRow.patient_id == patient_id)
                .order_by(SupervisedSessionRow.scheduled_for.desc())
                .limit(latest)
            )
        ),
        bladder_screen_due=bladder_screen_due(db, ctx, patient_id),
    )
    record_event(
        db, ctx.actor, "safety.read", "patient", patient_id, patient_id=patient_id,
        detail={"tasks": len(record.tasks), "flags": len(record.flags)}, now=ctx.now,
    )  # fmt: skip
    return record


def may_act(role: str, assigned_role: str) -> bool:
    """A task or flag names the role that must act (a risk assessment is a prescriber's); a
    prescriber may also act on anything assigned to another clinical role."""
    return role in (assigned_role, "prescriber")


def _note(text: str, what: str) -> str:
    note = text.strip()
    if len(note) < 3:
        raise InvalidInput(f"Write {what} (a short note).", field="note")
    if len(note) > _NOTE_CHARACTERS:
        raise InvalidInput(f"Keep the note under {_NOTE_CHARACTERS} characters.", field="note")
    return note


def _may_act_for(ctx: RequestContext, role: str, what: str) -> None:
    if not may_act(ctx.actor.role, role):
        raise PermissionDenied(
            f"This {what} is for a {role}; you are signed in as a {ctx.actor.role}."
        )


def complete_task(db: Session, ctx: RequestContext, task_id: str, *, note: str) -> str:
    """Close a task with what was done; returns the patient's id."""
    text = _note(note, "what was done")
    with atomic(db):
        row = db.get(SafetyTaskRow, task_id)
        if row is None:
            raise NotFound(f"No task {task_id}.", field="task_id")
        if row.status != "open":
            raise RuleViolation(f"Task {task_id} is already done.", field="task_id")
        _may_act_for(ctx, row.assignee_role, "task")
        row.status, row.completed_by, row.completed_at = "done", ctx.actor.display_name, ctx.now
        row.completion_note, row.updated_at = text, ctx.now
        record_event(
            db, ctx.actor, "safety.task.complete", "safety_task", task_id,
            patient_id=row.patient_id, detail={"kind": row.kind}, now=ctx.now,
        )  # fmt: skip
        return row.patient_id


def resolve_flag(db: Session, ctx: RequestContext, flag_id: str, *, note: str) -> str:
    """Resolve a flag with why; returns the patient's id."""
    text = _note(note, "why the flag is resolved")
    with atomic(db):
        row = db.get(SafetyFlagRow, flag_id)
        if row is None:
            raise NotFound(f"No flag {flag_id}.", field="flag_id")
        if row.status != "open":
            raise RuleViolation(f"Flag {flag_id} is already resolved.", field="flag_id")
        _may_act_for(ctx, row.for_role, "flag")
        row.status, row.resolved_by, row.resolved_at = "resolved", ctx.actor.display_name, ctx.now
        row.resolution_note, row.updated_at = text, ctx.now
        record_event(
            db, ctx.actor, "safety.flag.resolve", "safety_flag", flag_id,
            patient_id=row.patient_id, detail={"kind": row.kind}, now=ctx.now,
        )  # fmt: skip
        return row.patient_id


def task_patient(db: Session, task_id: str) -> str:
    row = db.get(SafetyTaskRow, task_id)
    if row is None:
        raise NotFound(f"No task {task_id}.", field="task_id")
    return row.patient_id


def flag_patient(db: Session, flag_id: str) -> str:
    row = db.get(SafetyFlagRow, flag_id)
    if row is None:
        raise NotFound(f"No flag {flag_id}.", field="flag_id")
    return row.patient_id
