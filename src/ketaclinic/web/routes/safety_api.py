"""The JSON API of the safety follow-up pages (``safety_followup``): the same use cases, the
same permissions and audit entries, documented in the OpenAPI schema.

Errors answer ``{"error", "field"}`` with the error's HTTP status, as every ``/api/`` route does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from ketaclinic.services import safety, safety_tasks
from ketaclinic.services.safety import SafetyOutcome
from ketaclinic.web.deps import CurrentContext, DbSession, ensure_patient_access, require
from ketaclinic.web.routes.clinical_api import _jsonable

router = APIRouter(prefix="/api/v1", tags=["safety follow-up API"])

RecordRead = Depends(require("patient_record:read"))
RecordChange = Depends(require("patient_record:change"))


class NoteIn(BaseModel):
    note: str = Field(description="What was done, or why it is resolved (a few words).")


class AdverseEventIn(BaseModel):
    verbatim_term: str
    term_id: str = Field(description="A curated preferred term id (adverse_event_terms.yaml).")
    session_id: str | None = None
    onset_at: datetime
    resolved_at: datetime | None = None
    severity: str = Field(description="mild, moderate or severe")
    seriousness: list[str] = Field(
        default_factory=list, description="Seriousness criterion ids; empty when not serious."
    )
    relatedness: str
    action_taken: str
    outcome: str


class BladderScreenIn(BaseModel):
    symptoms: list[str] = Field(default_factory=list, description="Symptom ids; empty: none.")
    taken_at: datetime | None = Field(default=None, description="Defaults to now.")


class MisuseSignalIn(BaseModel):
    kind: str = Field(description="A misuse signal id (surveillance.yaml).")
    detail: str
    at: datetime | None = Field(default=None, description="Defaults to now.")


def _outcome(outcome: SafetyOutcome) -> dict[str, Any]:
    return {
        "record_id": outcome.record_id,
        "task_ids": list(outcome.task_ids),
        "flag_ids": list(outcome.flag_ids),
    }


@router.get("/patients/{patient_id}/safety", dependencies=[RecordRead])
def safety_record(patient_id: str, db: DbSession, ctx: CurrentContext) -> dict[str, Any]:
    """Open tasks and flags, adverse events, the latest bladder screens and misuse signals, and
    when the next bladder screen is due (null outside maintenance)."""
    ensure_patient_access(ctx.actor, patient_id)
    record = safety_tasks.safety_record(db, ctx, patient_id)
    payload: dict[str, Any] = _jsonable(
        {
            "tasks": record.tasks, "flags": record.flags,
            "adverse_events": record.adverse_events,
            "bladder_screens": record.bladder_screens, "misuse_signals": record.misuse_signals,
            "bladder_screen_due": record.bladder_screen_due,
        }
    )  # fmt: skip
    return payload


@router.get("/tasks/due", dependencies=[RecordRead])
def tasks_due(db: DbSession, ctx: CurrentContext) -> dict[str, Any]:
    """Open tasks due by the end of the clinic's day across patients, how many are later, and
    the maintenance patients due a bladder screen by then."""
    payload: dict[str, Any] = _jsonable(safety_tasks.tasks_due(db, ctx))
    return payload


@router.post("/tasks/{task_id}/complete", dependencies=[RecordChange])
def complete_task(task_id: str, body: NoteIn, db: DbSession, ctx: CurrentContext) -> dict[str, str]:
    """Close a task with what was done; only the role it is for (or a prescriber) may."""
    ensure_patient_access(ctx.actor, safety_tasks.task_patient(db, task_id))
    safety_tasks.complete_task(db, ctx, task_id, note=body.note)
    return {"task_id": task_id, "status": "done"}


@router.post("/flags/{flag_id}/resolve", dependencies=[RecordChange])
def resolve_flag(flag_id: str, body: NoteIn, db: DbSession, ctx: CurrentContext) -> dict[str, str]:
    """Resolve a flag with why; only the role it is for (or a prescriber) may."""
    ensure_patient_access(ctx.actor, safety_tasks.flag_patient(db, flag_id))
    safety_tasks.resolve_flag(db, ctx, flag_id, note=body.note)
    return {"flag_id": flag_id, "status": "resolved"}


@router.post("/patients/{patient_id}/adverse-events", status_code=201, dependencies=[RecordChange])
def record_adverse_event(
    patient_id: str, body: AdverseEventIn, db: DbSession, ctx: CurrentContext
) -> dict[str, Any]:
    """Record an adverse event; a serious one creates its review and reporting tasks, and an
    event of a closed esketamine session updates its REMS form (or, finalised, raises a task)."""
    ensure_patient_access(ctx.actor, patient_id)
    data = body.model_dump() | {"patient_id": patient_id}
    return _outcome(safety.record_adverse_event_for(db, ctx, data))


@router.post("/patients/{patient_id}/bladder-screens", status_code=201, dependencies=[RecordChange])
def record_bladder_screen(
    patient_id: str, body: BladderScreenIn, db: DbSession, ctx: CurrentContext
) -> dict[str, Any]:
    """A urinary and bladder symptom screen; new or red-flag symptoms raise a flag and referral."""
    ensure_patient_access(ctx.actor, patient_id)
    outcome = safety.record_bladder_screen(
        db, ctx, patient_id, body.symptoms, taken_at=body.taken_at
    )
    return _outcome(outcome)


@router.post("/patients/{patient_id}/misuse-signals", status_code=201, dependencies=[RecordChange])
def record_misuse_signal(
    patient_id: str, body: MisuseSignalIn, db: DbSession, ctx: CurrentContext
) -> dict[str, Any]:
    """A misuse or dependence signal: a prescriber flag and a same-day review task."""
    ensure_patient_access(ctx.actor, patient_id)
    return _outcome(
        safety.record_misuse_signal(db, ctx, patient_id, body.kind, body.detail, at=body.at)
    )
