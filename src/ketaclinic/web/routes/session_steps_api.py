"""The JSON API of the session monitor's remaining steps: no-show, abort, the pre-dose checklist
(check without saving, then pass), the start of dosing and each dosing event, resuming monitoring
and addenda. The same services as the monitor page (``services.sessions``), so the same rules:
eligibility and the planned dose come from the record, a decision to proceed is a prescriber's,
a dose other than the signed plan's needs a prescriber's written override.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from ketaclinic.clinical.sessions.predose import ClinicianDecision, PregnancyStatus
from ketaclinic.services import sessions
from ketaclinic.services.context import RequestContext
from ketaclinic.web.deps import CurrentContext, DbSession, ensure_patient_access, require

router = APIRouter(prefix="/api/v1", tags=["session monitor API"])

SessionChange = Depends(require("treatment_session:change"))


class ReasonIn(BaseModel):
    reason: str = Field(min_length=3, description="Why, in a few words.")


class TextIn(BaseModel):
    text: str = Field(description="The correction or addition (the signed record is not edited).")


class PredoseIn(BaseModel):
    """What the nurse records at the chair; eligibility, the planned dose, consent and REMS
    enrolment come from the record and cannot be given here."""

    identity_confirmed: bool | None = None
    last_food_at: datetime | None = None
    last_liquid_at: datetime | None = None
    escort_confirmed: bool | None = None
    transport_confirmed: bool | None = None
    pregnancy_status: PregnancyStatus | None = None
    decisions: dict[str, str] = Field(
        default_factory=dict,
        description="Check id to a prescriber's written decision to proceed (e.g. "
        "{'blood-pressure-gate': 'BP 165/95 reviewed, proceed'}); refused for other roles.",
    )


class DosingStartIn(BaseModel):
    product: str
    formulation: str
    lot_number: str = Field(min_length=1, description="From the vial or device box.")
    dose_mg: float = Field(gt=0, description="Must be the signed plan's dose for this session.")
    administered_by: str | None = Field(default=None, description="Defaults to the caller.")
    supervised_by: str | None = Field(default=None, description="Defaults to the caller.")
    concentration_mg_per_ml: float | None = Field(default=None, gt=0, description="IV only.")
    initial_rate_mg_per_h: float | None = Field(default=None, gt=0, description="IV only.")
    override_reason: str | None = Field(
        default=None, description="A prescriber's reason for a dose other than the plan's."
    )


class DosingEventIn(BaseModel):
    kind: Literal["device", "rate-change", "pause", "resume"]
    device_mg: float | None = Field(default=None, gt=0, description="For a nasal device.")
    rate_mg_per_h: float | None = Field(default=None, gt=0, description="For a rate change.")
    reason: str | None = None


def _allowed(db: DbSession, ctx: RequestContext, session_id: str) -> None:
    ensure_patient_access(ctx.actor, sessions.session_details(db, session_id).patient_id)


def _state(record: Any) -> dict[str, Any]:
    return {"state": record.state.value, "record": record.model_dump(mode="json")}


def _predose(ctx: RequestContext, body: PredoseIn) -> tuple[dict[str, Any], dict[str, Any]]:
    answers = body.model_dump(exclude={"decisions"})
    decisions = {
        check_id: ClinicianDecision(by=ctx.actor.display_name, at=ctx.now, note=note.strip())
        for check_id, note in body.decisions.items()
    }
    return answers, decisions


@router.post("/sessions/{session_id}/no-show", dependencies=[SessionChange])
def no_show(session_id: str, db: DbSession, ctx: CurrentContext) -> dict[str, Any]:
    _allowed(db, ctx, session_id)
    return _state(sessions.no_show(db, ctx, session_id))


@router.post("/sessions/{session_id}/abort", dependencies=[SessionChange])
def abort(session_id: str, body: ReasonIn, db: DbSession, ctx: CurrentContext) -> dict[str, Any]:
    """Stop the session with a reason (an esketamine session's REMS form is then due)."""
    _allowed(db, ctx, session_id)
    return _state(sessions.abort(db, ctx, session_id, reason=body.reason.strip()))


@router.post("/sessions/{session_id}/predose/evaluate", dependencies=[SessionChange])
def evaluate_predose(
    session_id: str, body: PredoseIn, db: DbSession, ctx: CurrentContext
) -> dict[str, Any]:
    """Every pre-dose item now, met or not, without changing the session ("Check answers")."""
    _allowed(db, ctx, session_id)
    answers, decisions = _predose(ctx, body)
    result = sessions.evaluate_predose_checks(db, ctx, session_id, answers, decisions=decisions)
    return result.model_dump(mode="json") | {"passed": result.passed}


@router.post("/sessions/{session_id}/predose/pass", dependencies=[SessionChange])
def pass_predose(
    session_id: str, body: PredoseIn, db: DbSession, ctx: CurrentContext
) -> dict[str, Any]:
    """Record the checklist and move on; refused (409) naming what is not met."""
    _allowed(db, ctx, session_id)
    answers, decisions = _predose(ctx, body)
    return _state(sessions.pass_predose(db, ctx, session_id, answers, decisions=decisions))


@router.post("/sessions/{session_id}/dosing", status_code=201, dependencies=[SessionChange])
def start_dosing(
    session_id: str, body: DosingStartIn, db: DbSession, ctx: CurrentContext
) -> dict[str, Any]:
    """Start the medication administration record with the dose given."""
    _allowed(db, ctx, session_id)
    record = sessions.start_dosing(
        db, ctx, session_id, product=body.product, formulation=body.formulation,
        lot_number=body.lot_number.strip(), dose_mg=body.dose_mg,
        administered_by=body.administered_by or ctx.actor.display_name,
        supervised_by=body.supervised_by or ctx.actor.display_name,
        concentration_mg_per_ml=body.concentration_mg_per_ml,
        initial_rate_mg_per_h=body.initial_rate_mg_per_h, override_reason=body.override_reason,
    )  # fmt: skip
    return _state(record)


@router.post("/sessions/{session_id}/dosing/events", status_code=201, dependencies=[SessionChange])
def dosing_event(
    session_id: str, body: DosingEventIn, db: DbSession, ctx: CurrentContext
) -> dict[str, Any]:
    """A nasal device given, an infusion rate change, a pause or a resume."""
    _allowed(db, ctx, session_id)
    record = sessions.add_dosing_event(
        db, ctx, session_id, body.kind, device_mg=body.device_mg,
        rate_mg_per_h=body.rate_mg_per_h, reason=body.reason,
    )  # fmt: skip
    return _state(record)


@router.post("/sessions/{session_id}/resume-monitoring", dependencies=[SessionChange])
def resume_monitoring(
    session_id: str, body: ReasonIn, db: DbSession, ctx: CurrentContext
) -> dict[str, Any]:
    """Back to monitoring after "ready for discharge", with the reason."""
    _allowed(db, ctx, session_id)
    return _state(sessions.resume_monitoring(db, ctx, session_id, reason=body.reason.strip()))


@router.post("/sessions/{session_id}/addenda", status_code=201, dependencies=[SessionChange])
def addendum(session_id: str, body: TextIn, db: DbSession, ctx: CurrentContext) -> dict[str, Any]:
    """A correction or addition to a signed record, with who and when."""
    _allowed(db, ctx, session_id)
    return _state(sessions.add_addendum(db, ctx, session_id, body.text))
