"""Consents on the intake page: record treatment consent, SPRAVATO REMS patient enrolment and
research consent (who obtained it, when, where the signed form is), and withdraw one; with the
JSON API twins under /api/v1.

The intake page (``intake.py``) shows the register; a refused entry re-renders it with the
message beside the field and what was typed kept.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from ketaclinic.errors import InvalidInput
from ketaclinic.services import consents
from ketaclinic.services.consents import ConsentRecord
from ketaclinic.services.context import Actor
from ketaclinic.web.deps import (
    ClinicZone,
    CurrentActor,
    DbSession,
    Now,
    ensure_patient_access,
    require,
)
from ketaclinic.web.routes._clinic_forms import context, field_errors
from ketaclinic.web.routes.intake import _intake_page

router = APIRouter(tags=["consents"])

ConsentRead = Depends(require("consent:read"))
ConsentChange = Depends(require("consent:change"))


def parse_local_time(text: str, field: str, label: str, zone: tzinfo) -> datetime | None:
    """A ``YYYY-MM-DDTHH:MM`` form value, in the clinic's time zone, as an aware time."""
    value = text.strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{label}: write the date and time as YYYY-MM-DD HH:MM, not '{value}'.", field=field
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _refused(
    request: Request,
    db: DbSession,
    actor: Actor,
    now: datetime,
    patient_id: str,
    values: dict[str, str],
    exc: InvalidInput,
) -> Response:
    db.rollback()
    return _intake_page(
        request, db, actor, now, patient_id, status_code=422, section="consent",
        values=values, errors=field_errors(exc, "kind"),
    )  # fmt: skip


@router.post(
    "/patients/{patient_id}/intake/consents",
    response_class=HTMLResponse,
    dependencies=[ConsentChange],
)
def record_consent(
    request: Request,
    patient_id: str,
    db: DbSession,
    actor: CurrentActor,
    now: Now,
    zone: ClinicZone,
    kind: Annotated[str, Form()] = "",
    given_at: Annotated[str, Form()] = "",
    obtained_by: Annotated[str, Form()] = "",
    document_ref: Annotated[str, Form()] = "",
    consent_notes: Annotated[str, Form()] = "",
) -> Response:
    ensure_patient_access(actor, patient_id)
    values = {
        "kind": kind, "given_at": given_at, "obtained_by": obtained_by,
        "document_ref": document_ref, "consent_notes": consent_notes,
    }  # fmt: skip
    try:
        if not kind:
            raise InvalidInput("Choose which consent the patient signed.", field="kind")
        consents.record_consent(
            db, context(actor, now), patient_id, kind,
            given_at=parse_local_time(given_at, "given_at", "Signed on", zone),
            obtained_by=obtained_by, document_ref=document_ref, notes=consent_notes,
        )  # fmt: skip
    except InvalidInput as exc:
        if exc.field == "notes":
            exc.field = "consent_notes"
        return _refused(request, db, actor, now, patient_id, values, exc)
    return RedirectResponse(f"/patients/{patient_id}/intake?saved=consent#consent", 303)


@router.post(
    "/patients/{patient_id}/intake/consents/{consent_id}/withdraw",
    response_class=HTMLResponse,
    dependencies=[ConsentChange],
)
def withdraw_consent(
    request: Request,
    patient_id: str,
    consent_id: str,
    db: DbSession,
    actor: CurrentActor,
    now: Now,
    reason: Annotated[str, Form()] = "",
) -> Response:
    ensure_patient_access(actor, patient_id)
    consent = consents.get_consent(db, consent_id)
    if consent.patient_id != patient_id:
        raise InvalidInput("This consent belongs to another patient.", field="consent_id")
    try:
        consents.withdraw_consent(db, context(actor, now), consent_id, reason=reason)
    except InvalidInput as exc:
        exc.field = f"reason_{consent_id}" if exc.field == "reason" else "kind"
        return _refused(request, db, actor, now, patient_id, {}, exc)
    return RedirectResponse(f"/patients/{patient_id}/intake?saved=consent-withdrawn#consent", 303)


# --- JSON API -------------------------------------------------------------------------------


class ConsentIn(BaseModel):
    kind: str = Field(description="treatment, rems-enrolment or research")
    given_at: datetime | None = Field(default=None, description="Defaults to now; never future.")
    obtained_by: str | None = Field(default=None, description="Defaults to the caller.")
    document_ref: str | None = Field(default=None, description="Where the signed form is kept.")
    notes: str | None = None


class WithdrawIn(BaseModel):
    reason: str | None = Field(default=None, description="Optional: a patient need not say.")


def _consent(record: ConsentRecord) -> dict[str, Any]:
    return {
        "consent_id": record.consent_id, "patient_id": record.patient_id,
        "kind": record.kind.value, "label": record.label, "status": record.status.value,
        "given_at": record.given_at.isoformat(), "obtained_by": record.obtained_by,
        "recorded_by": record.recorded_by, "document_ref": record.document_ref,
        "notes": record.notes,
        "withdrawn_at": record.withdrawn_at.isoformat() if record.withdrawn_at else None,
        "withdrawn_by": record.withdrawn_by, "withdrawal_reason": record.withdrawal_reason,
    }  # fmt: skip


@router.get("/api/v1/patients/{patient_id}/consents", dependencies=[ConsentRead])
def consent_list(
    patient_id: str, db: DbSession, actor: CurrentActor, now: Now
) -> list[dict[str, Any]]:
    """The patient's consents, newest first, active and withdrawn."""
    ensure_patient_access(actor, patient_id)
    return [_consent(c) for c in consents.consent_register(db, context(actor, now), patient_id)]


@router.post(
    "/api/v1/patients/{patient_id}/consents", status_code=201, dependencies=[ConsentChange]
)
def consent_record(
    patient_id: str, body: ConsentIn, db: DbSession, actor: CurrentActor, now: Now
) -> dict[str, Any]:
    """Record a signed consent; a second active consent of the same kind is refused (422)."""
    ensure_patient_access(actor, patient_id)
    record = consents.record_consent(
        db, context(actor, now), patient_id, body.kind, given_at=body.given_at,
        obtained_by=body.obtained_by, document_ref=body.document_ref, notes=body.notes,
    )  # fmt: skip
    return _consent(record)


@router.post("/api/v1/consents/{consent_id}/withdraw", dependencies=[ConsentChange])
def consent_withdraw(
    consent_id: str, body: WithdrawIn, db: DbSession, actor: CurrentActor, now: Now
) -> dict[str, Any]:
    """Withdraw a consent from now on; what was done under it before stays lawful."""
    ensure_patient_access(actor, consents.get_consent(db, consent_id).patient_id)
    return _consent(
        consents.withdraw_consent(db, context(actor, now), consent_id, reason=body.reason)
    )
