"""The JSON API of the SPRAVATO REMS Patient Monitoring Form page: read the form (what is
filled from the record, what is missing, whether it is due or overdue in the clinic's calendar),
answer the fields the record cannot fill, finalise it, and record its submission to the REMS.
The same services and audit entries as ``/sessions/{id}/rems``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, ValidationError

from ketaclinic.clinical import rems as core
from ketaclinic.errors import InvalidInput
from ketaclinic.services import rems, sessions
from ketaclinic.services.context import RequestContext
from ketaclinic.web.deps import CurrentContext, DbSession, ensure_patient_access, require

router = APIRouter(prefix="/api/v1", tags=["REMS form API"])

SessionRead = Depends(require("treatment_session:read"))
SessionChange = Depends(require("treatment_session:change"))


class AnswersIn(BaseModel):
    answers: dict[str, Any] = Field(
        min_length=1,
        description="Form field to value, e.g. {'setting_name': 'Riverside Clinic', "
        "'vitals_acceptable_before': true}; GET the form to see which are missing.",
    )


class SubmissionIn(BaseModel):
    reference: str = Field(min_length=1, description="The confirmation the REMS gave.")


def _allowed(db: DbSession, ctx: RequestContext, session_id: str) -> None:
    ensure_patient_access(ctx.actor, sessions.session_details(db, session_id).patient_id)


def _view(ctx: RequestContext, form: core.RemsMonitoringForm) -> dict[str, Any]:
    return {
        "form": form.model_dump(mode="json"),
        "missing": core.missing_fields(form),
        "status": core.status(form, today=ctx.today),
        "due_date": form.due_date.isoformat() if form.due_date else None,
    }


@router.get("/sessions/{session_id}/rems-form", dependencies=[SessionRead])
def get_form(session_id: str, db: DbSession, ctx: CurrentContext) -> dict[str, Any]:
    _allowed(db, ctx, session_id)
    return _view(ctx, rems.get_form(db, ctx, session_id))


@router.post("/sessions/{session_id}/rems-form/answers", dependencies=[SessionChange])
def answer(session_id: str, body: AnswersIn, db: DbSession, ctx: CurrentContext) -> dict[str, Any]:
    """The clinician's answers (or corrections) before the form is finalised."""
    _allowed(db, ctx, session_id)
    try:
        form = rems.answer_form(db, ctx, session_id, **body.answers)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first.get("loc") else "answers"
        raise InvalidInput(f"{name}: {first['msg']}.", field=name) from None
    return _view(ctx, form)


@router.post("/sessions/{session_id}/rems-form/finalise", dependencies=[SessionChange])
def finalise(session_id: str, db: DbSession, ctx: CurrentContext) -> dict[str, Any]:
    """Refused (409) while any required field is missing; the error names them."""
    _allowed(db, ctx, session_id)
    return _view(ctx, rems.finalise_form(db, ctx, session_id))


@router.post("/sessions/{session_id}/rems-form/submission", dependencies=[SessionChange])
def submitted(
    session_id: str, body: SubmissionIn, db: DbSession, ctx: CurrentContext
) -> dict[str, Any]:
    """Record that the finalised form went to the REMS, with its confirmation reference."""
    _allowed(db, ctx, session_id)
    return _view(ctx, rems.mark_submitted(db, ctx, session_id, reference=body.reference.strip()))
