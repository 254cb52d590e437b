"""The JSON API of the clinician pages: Today, patients, chart, history, screening, plans.

The same use cases as the pages (same permissions, same audit entries), for an integration or
a script; documented in the OpenAPI schema. Errors answer ``{"error", "field"}`` with the
error's HTTP status, as every ``/api/`` route does.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from ketaclinic.services import patients, planning, screening
from ketaclinic.services.audit import record_event
from ketaclinic.services.chart import patient_chart
from ketaclinic.services.context import Actor, RequestContext
from ketaclinic.services.plan_records import PlanRecord
from ketaclinic.services.today import today_board
from ketaclinic.web.deps import (
    CurrentActor,
    CurrentContext,
    DbSession,
    Now,
    ensure_patient_access,
    require,
)

router = APIRouter(prefix="/api/v1", tags=["clinician pages API"])

RecordRead = Depends(require("patient_record:read"))
RecordChange = Depends(require("patient_record:change"))
ScreeningChange = Depends(require("screening:change"))
OverrideChange = Depends(require("screening_override:change"))
PlanRead = Depends(require("treatment_plan:read"))
PlanChange = Depends(require("treatment_plan:change"))
TodayRead = Depends(require("treatment_session:read"))


class ScreeningIn(BaseModel):
    treatment: Literal["racemic-iv-im", "racemic-oral-sublingual", "esketamine-intranasal"]
    statements: dict[str, Any] = Field(
        default_factory=dict,
        description="Facts the record does not hold, e.g. {'pregnant': false, "
        "'sleep_apnoea_risk': 'low'} (see ScreeningStatements).",
    )


class OverrideIn(BaseModel):
    rule_ids: list[str] = Field(min_length=1)
    reason: str


class PlanIn(BaseModel):
    protocol_id: str
    start_date: date
    dose: dict[str, Any] = Field(
        default_factory=dict, description="e.g. {'dose_mg_per_kg': 0.5}; empty: the default."
    )
    maintenance_option: str | None = None
    limit_override: dict[str, Any] | None = Field(
        default=None, description="{'limit_ids': [...], 'reason': '...'} for a dose over a limit."
    )


def _ctx(actor: Actor, now: datetime) -> RequestContext:
    return RequestContext(actor, now)


def _jsonable(value: Any) -> Any:
    """Dataclasses and pydantic models as plain JSON values."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    table = getattr(value, "__table__", None)
    if table is not None:  # a stored row (tasks, flags): its columns
        return {c.name: _jsonable(getattr(value, c.name)) for c in table.columns}
    return value


def _plan(plan: PlanRecord) -> dict[str, Any]:
    payload: dict[str, Any] = _jsonable(plan)
    return payload


@router.get("/today", dependencies=[TodayRead])
def today(db: DbSession, ctx: CurrentContext) -> dict[str, Any]:
    """The clinic day's sessions by chair or room, minutes to each next checkpoint, REMS forms
    due. ``day`` is the clinic's calendar day (``clinic_timezone``); times are UTC (ISO 8601)."""
    board = today_board(db, ctx, ctx.today, ctx.clinic_tz)
    return {
        "day": board.day.isoformat(),
        "clinic_timezone": str(ctx.clinic_tz),
        "as_of": board.as_of.isoformat(),
        "places": [
            {"name": p.name, "sessions": [_jsonable(line) for line in p.lines]}
            for p in board.places
        ],
        "rems_due": _jsonable(board.rems_due),
    }


@router.get("/patients", dependencies=[RecordRead])
def patient_list(
    db: DbSession,
    ctx: CurrentContext,
    q: str = Query("", max_length=100),
    limit: int = Query(50, ge=1, le=500),
) -> list[dict[str, Any]]:
    """Patients by name; ``q`` matches a name part or the clinic number (audited, as the page)."""
    found: list[dict[str, Any]] = _jsonable(
        patients.list_patients(db, search=q or None, limit=limit)
    )
    record_event(
        db, ctx.actor, "patient.list", "patient", None,
        detail={"search": q[:40], "shown": len(found), "via": "api"}, now=ctx.now,
    )  # fmt: skip
    return found


@router.get("/patients/{patient_id}/chart", dependencies=[RecordRead])
def chart(patient_id: str, db: DbSession, actor: CurrentActor, now: Now) -> dict[str, Any]:
    """Summary, plans, screenings, score trajectories with outcomes, vitals, safety, timeline."""
    ensure_patient_access(actor, patient_id)
    view = patient_chart(db, _ctx(actor, now), patient_id)
    payload: dict[str, Any] = _jsonable(view)
    return payload


@router.post("/patients/{patient_id}/screenings", status_code=201, dependencies=[ScreeningChange])
def screen(
    patient_id: str, body: ScreeningIn, db: DbSession, actor: CurrentActor, now: Now
) -> dict[str, Any]:
    """Screen from the record as it is now; the decision with reasons and citations."""
    ensure_patient_access(actor, patient_id)
    record = screening.screen_patient(
        db, _ctx(actor, now), patient_id, body.treatment, body.statements
    )
    payload: dict[str, Any] = _jsonable(record)
    return payload


@router.post("/screenings/{screening_id}/override", status_code=201, dependencies=[OverrideChange])
def override(
    screening_id: str, body: OverrideIn, db: DbSession, actor: CurrentActor, now: Now
) -> dict[str, Any]:
    """A prescriber overrides named findings with a written reason; returns the re-decision."""
    record = screening.override_screening(
        db, _ctx(actor, now), screening_id, body.rule_ids, body.reason
    )
    ensure_patient_access(actor, record.patient_id)
    payload: dict[str, Any] = _jsonable(record)
    return payload


@router.post("/patients/{patient_id}/plans", status_code=201, dependencies=[PlanChange])
def create_plan(
    patient_id: str, body: PlanIn, db: DbSession, actor: CurrentActor, now: Now
) -> dict[str, Any]:
    """A draft plan with its computed first dose and schedule."""
    ensure_patient_access(actor, patient_id)
    plan = planning.create_plan(
        db, _ctx(actor, now), patient_id, body.protocol_id, body.start_date, dose=body.dose,
        maintenance_option=body.maintenance_option, limit_override=body.limit_override,
    )  # fmt: skip
    return _plan(plan)


@router.get("/plans/{plan_id}", dependencies=[PlanRead])
def plan(plan_id: str, db: DbSession, actor: CurrentActor, now: Now) -> dict[str, Any]:
    record = planning.get_plan(db, _ctx(actor, now), plan_id)
    ensure_patient_access(actor, record.patient_id)
    return _plan(record)


@router.post("/plans/{plan_id}/sign", dependencies=[PlanChange])
def sign(plan_id: str, db: DbSession, actor: CurrentActor, now: Now) -> dict[str, Any]:
    """The prescriber signs a draft; from then on it is frozen."""
    ctx = _ctx(actor, now)
    ensure_patient_access(actor, planning.get_plan(db, ctx, plan_id).patient_id)
    return _plan(planning.sign_plan(db, ctx, plan_id))
