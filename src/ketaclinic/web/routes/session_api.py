"""The JSON API of the session monitor, the patient portal and the clinic policy page: the same
use cases as the pages, for a bedside app or an integration (documented in the OpenAPI schema).

Errors answer ``{"error", "field"}`` with the error's HTTP status, as every ``/api/`` route does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ketaclinic.clinical.sessions.alerts import Measures
from ketaclinic.services import (
    measurement,
    policy,
    progress,
    questionnaire_schedule,
    session_today,
    sessions,
)
from ketaclinic.services.context import Actor, RequestContext
from ketaclinic.storage.tables.types import new_id
from ketaclinic.web.deps import (
    CurrentActor,
    CurrentContext,
    DbSession,
    Now,
    ensure_patient_access,
    require,
)
from ketaclinic.web.routes.portal import patient_id_of, portal_instrument

router = APIRouter(prefix="/api/v1", tags=["session monitor API"])

SessionRead = Depends(require("treatment_session:read"))
SessionChange = Depends(require("treatment_session:change"))


class ReadingIn(BaseModel):
    measures: Measures
    taken_at: datetime | None = Field(default=None, description="Defaults to now; never future.")


class NoteIn(BaseModel):
    note: str = Field(description="What was assessed or done (at least a few words).")


class StepIn(BaseModel):
    step: Literal["check-in", "end-dosing", "mark-ready", "discharge", "sign"]
    escort_present: bool = False
    note: str | None = None


class AnswersIn(BaseModel):
    answers: dict[str, int] = Field(description="Item id to answer value, e.g. {'q1': 0}.")


class ThresholdIn(BaseModel):
    parameter_id: str
    value: float | None = None
    reason: str
    revert: bool = False


def _ctx(actor: Actor, now: datetime) -> RequestContext:
    return RequestContext(actor, now)


def _allowed(db: Session, actor: Actor, session_id: str) -> None:
    ensure_patient_access(actor, sessions.session_details(db, session_id).patient_id)


@router.get("/sessions/{session_id}", dependencies=[SessionRead])
def session_record(session_id: str, db: DbSession, actor: CurrentActor, now: Now) -> dict[str, Any]:
    """The session record with its checkpoints' states now."""
    _allowed(db, actor, session_id)
    record = sessions.get_session(db, _ctx(actor, now), session_id)
    points = session_today.checkpoints(db, _ctx(actor, now), session_id)
    return {
        "record": record.model_dump(mode="json"),
        "checkpoints": [p.model_dump(mode="json") for p in points],
    }


@router.post("/sessions/{session_id}/readings", status_code=201, dependencies=[SessionChange])
def add_reading(
    session_id: str, body: ReadingIn, db: DbSession, ctx: CurrentContext
) -> dict[str, Any]:
    """Vitals and scales at a checkpoint; answers the alerts they raised (a positive suicide
    item raises a task due by the end of the clinic's day)."""
    _allowed(db, ctx.actor, session_id)
    reading_id = new_id()
    _, raised = sessions.record_observation(
        db, ctx, session_id, reading_id, body.measures, taken_at=body.taken_at
    )
    return {"reading_id": reading_id, "alerts": [a.model_dump(mode="json") for a in raised]}


@router.post("/sessions/{session_id}/alerts/{alert_id}/acknowledge", dependencies=[SessionChange])
def acknowledge_alert(
    session_id: str, alert_id: str, body: NoteIn, db: DbSession, actor: CurrentActor, now: Now
) -> dict[str, Any]:
    _allowed(db, actor, session_id)
    record = sessions.acknowledge_alert(db, _ctx(actor, now), session_id, alert_id, note=body.note)
    return {"state": record.state.value, "open_alerts": len(record.open_alerts)}


@router.get("/sessions/{session_id}/discharge-assessment", dependencies=[SessionRead])
def discharge_assessment(
    session_id: str, db: DbSession, actor: CurrentActor, now: Now, escort_present: bool = False
) -> dict[str, Any]:
    """Every unmet discharge criterion now, explained (an empty list means ready)."""
    _allowed(db, actor, session_id)
    assessment = sessions.discharge_assessment(
        db, _ctx(actor, now), session_id, escort_present=escort_present
    )
    return assessment.model_dump(mode="json") | {"ready": assessment.ready}


@router.post("/sessions/{session_id}/steps", dependencies=[SessionChange])
def take_step(session_id: str, body: StepIn, db: DbSession, ctx: CurrentContext) -> dict[str, Any]:
    """One lifecycle step (dosing itself and pre-dose checks are on the monitor page)."""
    _allowed(db, ctx.actor, session_id)
    if body.step == "check-in":
        record = sessions.check_in(db, ctx, session_id)
    elif body.step == "end-dosing":
        record = sessions.end_dosing(db, ctx, session_id, note=body.note)
    elif body.step == "mark-ready":
        record = sessions.mark_ready(db, ctx, session_id, escort_present=body.escort_present)
    elif body.step == "discharge":
        record = sessions.discharge(db, ctx, session_id, escort_present=body.escort_present)
    else:
        record = sessions.sign(db, ctx, session_id)
    return {"state": record.state.value}


@router.get("/portal/questionnaires-due", dependencies=[Depends(require("own_record:read"))])
def questionnaires_due(db: DbSession, ctx: CurrentContext) -> list[dict[str, Any]]:
    """The patient's own forms that are due: for everyone, and those their plan calls for."""
    due = questionnaire_schedule.due_questionnaires(db, ctx, patient_id_of(ctx.actor))
    return [
        {"instrument_id": d.instrument_id, "name": d.name, "every_days": d.every_days,
         "reason": d.reason,
         "last_answered_at": d.last_answered_at.isoformat() if d.last_answered_at else None}
        for d in due
    ]  # fmt: skip


@router.post(
    "/portal/questionnaires/{instrument_id}",
    status_code=201,
    dependencies=[Depends(require("own_record:change"))],
)
def answer_questionnaire(
    instrument_id: str, body: AnswersIn, db: DbSession, ctx: CurrentContext
) -> dict[str, Any]:
    """The patient's own answers; ``crisis_resources`` is filled when a suicide item is positive."""
    patient_id = patient_id_of(ctx.actor)
    portal_instrument(db, patient_id, instrument_id)
    stored = measurement.record_questionnaire_response(
        db, ctx, patient_id, instrument_id, body.answers
    )
    positive = any("suicid" in alert.id for alert in stored.result.alerts)
    resources = progress.portal_data().crisis_resources if positive else []
    return {
        "response_id": stored.response_id, "total": stored.result.total,
        "crisis_resources": [r.model_dump(mode="json") for r in resources],
    }  # fmt: skip


@router.get("/policy/{protocol_kind}", dependencies=[Depends(require("clinic_policy:read"))])
def clinic_policy(protocol_kind: str, db: DbSession) -> dict[str, Any]:
    return policy.clinic_policy(db, protocol_kind).model_dump(mode="json")


@router.post("/policy/{protocol_kind}", dependencies=[Depends(require("clinic_policy:change"))])
def change_threshold(
    protocol_kind: str, body: ThresholdIn, db: DbSession, actor: CurrentActor, now: Now
) -> dict[str, Any]:
    change = policy.change_threshold(
        db, _ctx(actor, now), protocol_kind, body.parameter_id, body.value,
        reason=body.reason, revert=body.revert,
    )  # fmt: skip
    return {"parameter_id": change.parameter_id, "previous_value": change.previous_value,
            "value": change.value, "reverted": change.reverted}  # fmt: skip
