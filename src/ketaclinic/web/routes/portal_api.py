"""The JSON API of the patient portal's progress and upcoming sessions (the questionnaires due
and answering them are in ``session_api``). The patient always comes from the signed-in
account, never from the address; every read is audited as the portal page's are."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from ketaclinic.services import progress
from ketaclinic.web.deps import CurrentContext, DbSession, require
from ketaclinic.web.routes.clinical_api import _jsonable
from ketaclinic.web.routes.portal import patient_id_of, plain_words

router = APIRouter(prefix="/api/v1/portal", tags=["patient portal API"])

OwnRead = Depends(require("own_record:read"))


@router.get("/progress", dependencies=[OwnRead])
def my_progress(db: DbSession, ctx: CurrentContext) -> dict[str, Any]:
    """Each questionnaire's scores with the course outcome by its rules, and the same progress
    in plain words as the portal page shows it."""
    patient_id = patient_id_of(ctx.actor)
    data = progress.progress(db, ctx, patient_id, purpose="portal.api")
    return {
        "instruments": [
            _jsonable(item) | {"in_plain_words": plain_words(item, ctx.clinic_tz)}
            for item in data.instruments
        ],
        "first_treatment_at": data.first_treatment_at.isoformat()
        if data.first_treatment_at
        else None,
    }


@router.get("/upcoming-sessions", dependencies=[OwnRead])
def my_upcoming_sessions(db: DbSession, ctx: CurrentContext) -> dict[str, Any]:
    """Planned and booked treatment days from today (the clinic's calendar day and time)."""
    patient_id = patient_id_of(ctx.actor)
    data = progress.progress(db, ctx, patient_id, purpose="portal.upcoming")
    return {
        "clinic_timezone": str(ctx.clinic_tz),
        "sessions": [{"day": day.isoformat(), "what": what} for day, what in data.upcoming],
    }
