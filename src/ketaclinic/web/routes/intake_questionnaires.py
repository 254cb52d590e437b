"""Questionnaires entered by a clinician (a form completed on paper or at the interview)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from ketaclinic.clinical.questionnaires import get_instrument
from ketaclinic.clinical.questionnaires.models import Item, compare
from ketaclinic.errors import InvalidInput
from ketaclinic.services import measurement, patients
from ketaclinic.web.deps import (
    CurrentActor,
    CurrentContext,
    DbSession,
    ensure_patient_access,
    require,
)
from ketaclinic.web.routes._clinic_forms import field_errors, form_fields, optional_date
from ketaclinic.web.templating import render

router = APIRouter(prefix="/patients/{patient_id}/intake", tags=["intake"])

IntakeRead = Depends(require("screening:read"))
IntakeChange = Depends(require("screening:change"))


# --- questionnaires entered by a clinician ------------------------------------------------------


def _asked(item: Item, values: dict[str, str]) -> bool:
    """Whether the form asks this item, given the earlier answers typed (skip logic)."""
    gate = item.asked_only_if
    if gate is None or gate.item_id is None:
        return True  # always asked (a gate on the total is checked by the scoring)
    earlier = values.get(gate.item_id, "")
    if not earlier.lstrip("-").isdigit():
        return False  # the earlier item is missing or wrong and is reported itself
    return compare(int(earlier), gate.op, gate.value)


def _questionnaire_page(
    request: Request,
    patient_id: str,
    instrument_id: str,
    *,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    result: Any = None,
) -> Response:
    instrument = get_instrument(instrument_id)
    return render(
        request,
        "intake_questionnaire.html",
        {
            "pid": patient_id,
            "instrument": instrument,
            "values": values or {},
            "errors": errors or {},
            "result": result,
        },
        status_code=status_code,
    )


@router.get(
    "/questionnaires/{instrument_id}", response_class=HTMLResponse, dependencies=[IntakeRead]
)
def questionnaire_form(
    request: Request,
    patient_id: str,
    instrument_id: str,
    db: DbSession,
    actor: CurrentActor,
) -> Response:
    ensure_patient_access(actor, patient_id)
    patients.get_patient_row(db, patient_id)
    return _questionnaire_page(request, patient_id, instrument_id)


@router.post(
    "/questionnaires/{instrument_id}", response_class=HTMLResponse, dependencies=[IntakeChange]
)
def questionnaire_submit(
    request: Request,
    patient_id: str,
    instrument_id: str,
    db: DbSession,
    ctx: CurrentContext,
    fields: Annotated[dict[str, str], Depends(form_fields)],
) -> Response:
    ensure_patient_access(ctx.actor, patient_id)
    patients.get_patient_row(db, patient_id)
    instrument = get_instrument(instrument_id)
    values = {item.id: fields.get(item.id, "") for item in instrument.items}
    values["administered_on"] = fields.get("administered_on", "")
    errors: dict[str, str] = {}
    for item in instrument.items:
        text = values[item.id]
        if not text and _asked(item, values):
            errors[item.id] = f"Answer item {item.number} ({item.label})."
        elif text and not text.lstrip("-").isdigit():
            errors[item.id] = (
                f"Item {item.number} ({item.label}) takes {item.describe_allowed()}, not '{text}'."
            )
    if errors:
        return _questionnaire_page(
            request, patient_id, instrument_id, status_code=422, values=values, errors=errors
        )
    # An item not asked (its gate's earlier answer does not call for it) takes its lowest value,
    # as the form's skip logic requires.
    answers = {
        item.id: int(values[item.id]) if values[item.id] else item.min_value
        for item in instrument.items
    }
    try:
        day = optional_date(values["administered_on"], "administered_on")
        # A past day is recorded at noon clinic time (the form asks for the day, not the minute).
        when = (
            ctx.now
            if day is None or day == ctx.today
            else datetime(day.year, day.month, day.day, 12, tzinfo=ctx.clinic_tz)
        )
        stored = measurement.record_questionnaire_response(
            db, ctx, patient_id, instrument_id, answers, administered_at=when
        )
    except InvalidInput as exc:
        db.rollback()
        return _questionnaire_page(
            request,
            patient_id,
            instrument_id,
            status_code=422,
            values=values,
            errors=field_errors(exc, "administered_on"),
        )
    return _questionnaire_page(request, patient_id, instrument_id, result=stored.result)
