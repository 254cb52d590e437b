"""Booking a signed plan's sessions from its page: a date, time, chair and room for each entry of
the plan's calendar, and rescheduling a missed one; with the JSON API twins under /api/v1.

What the session needs besides the place and time (protocol, BPRS+ choice, responsible
clinician, weight) comes from the signed plan through ``services.booking``; nothing is retyped.
The pages show and take days and times in the clinic's time zone (KETACLINIC_CLINIC_TIMEZONE).
"""

from __future__ import annotations

from datetime import date, datetime, time, tzinfo
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from ketaclinic.errors import InvalidInput, KetaclinicError, NotFound, PermissionDenied
from ketaclinic.services import booking, consents, patients, planning, sessions
from ketaclinic.services.booking import Booking, BookingSheet
from ketaclinic.services.consents import KIND_LABELS, ConsentKind
from ketaclinic.services.context import Actor, RequestContext
from ketaclinic.web.deps import (
    ClinicZone,
    CurrentActor,
    DbSession,
    Now,
    ensure_patient_access,
    require,
)
from ketaclinic.web.routes._clinic_forms import form_fields, optional_date
from ketaclinic.web.templating import render

router = APIRouter(tags=["booking"])

SessionRead = Depends(require("treatment_session:read"))
SessionChange = Depends(require("treatment_session:change"))
RUNNING = ("signed", "active")


def parse_time(text: str, field: str) -> time | None:
    value = text.strip()
    if not value:
        return None
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"Write the time as HH:MM (24-hour), not '{value}'.", field=field
        ) from None


def _usual_time(sheet: BookingSheet, zone: tzinfo) -> str:
    """The clinic time of the plan's latest booking: most courses keep one slot."""
    booked = [line.booked_for for line in sheet.lines if line.booked_for]
    return max(booked).astimezone(zone).strftime("%H:%M") if booked else ""


def context(actor: Actor, now: datetime, zone: tzinfo) -> RequestContext:
    return RequestContext(actor, now, zone)


def _page(
    request: Request,
    db: DbSession,
    actor: Actor,
    now: datetime,
    zone: tzinfo,
    plan_id: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> Response:
    ctx = context(actor, now, zone)
    sheet = booking.booking_sheet(db, ctx, plan_id)
    ensure_patient_access(actor, sheet.plan.patient_id)
    summary = patients.get_patient_summary(db, ctx, sheet.plan.patient_id)
    usual = _usual_time(sheet, zone)
    # Booking is allowed without them, but no session passes its pre-dose checks until they exist.
    needed = [ConsentKind.TREATMENT] + (
        [ConsentKind.REMS_ENROLMENT] if sheet.protocol_kind.is_rems else []
    )
    missing_consents = [
        KIND_LABELS[kind]
        for kind in needed
        if consents.active_consent(db, sheet.plan.patient_id, kind, at=now) is None
    ]
    defaults = {f"date_{line.sequence}": line.planned_on.isoformat() for line in sheet.bookable}
    defaults |= {f"time_{line.sequence}": usual for line in sheet.bookable}
    return render(
        request,
        "plan_bookings.html",
        {
            "sheet": sheet, "plan": sheet.plan, "summary": summary, "pid": sheet.plan.patient_id,
            "running": sheet.plan.status in RUNNING, "values": defaults | (values or {}),
            "errors": errors or {}, "problem": problem,
            "booked": request.query_params.get("booked"),
            "rescheduled": request.query_params.get("rescheduled"),
            "missing_consents": missing_consents,
        },
        status_code=status_code,
    )  # fmt: skip


@router.get("/plans/{plan_id}/bookings", response_class=HTMLResponse, dependencies=[SessionRead])
def bookings_page(
    request: Request, plan_id: str, db: DbSession, actor: CurrentActor, now: Now, zone: ClinicZone
) -> Response:
    return _page(request, db, actor, now, zone, plan_id)


@router.get(
    "/patients/{patient_id}/bookings", response_class=HTMLResponse, dependencies=[SessionRead]
)
def patient_bookings(
    patient_id: str, db: DbSession, actor: CurrentActor, now: Now, zone: ClinicZone
) -> Response:
    """The booking page of the patient's current plan (the latest signed or active one, else the
    latest draft, whose page says it must be signed first)."""
    ensure_patient_access(actor, patient_id)
    plans = planning.list_plans(db, context(actor, now, zone), patient_id)
    if not plans:
        raise NotFound("This patient has no treatment plan yet; plan and sign one first.")
    running = [p for p in plans if p.status in RUNNING]
    chosen = (running or plans)[-1]
    return RedirectResponse(f"/plans/{chosen.plan_id}/bookings", status_code=303)


def _bookings_from_form(sheet: BookingSheet, form: dict[str, str], zone: tzinfo) -> list[Booking]:
    chosen: list[Booking] = []
    for line in sheet.bookable:
        n = line.sequence
        if not form.get(f"book_{n}"):
            continue
        on = optional_date(form.get(f"date_{n}", ""), f"date_{n}") or line.planned_on
        at = parse_time(form.get(f"time_{n}", ""), f"time_{n}")
        if at is None:
            raise InvalidInput("Enter the time the session starts.", field=f"time_{n}")
        chosen.append(
            Booking(
                n, datetime.combine(on, at, tzinfo=zone),
                form.get(f"chair_{n}"), form.get(f"room_{n}"),
            )
        )  # fmt: skip
    if not chosen:
        raise InvalidInput("Tick at least one session to book.", field="sessions")
    return chosen


@router.post("/plans/{plan_id}/bookings", response_class=HTMLResponse, dependencies=[SessionChange])
def book(
    request: Request,
    plan_id: str,
    db: DbSession,
    actor: CurrentActor,
    now: Now,
    zone: ClinicZone,
    form: Annotated[dict[str, str], Depends(form_fields)],
) -> Response:
    ctx = context(actor, now, zone)
    sheet = booking.booking_sheet(db, ctx, plan_id)
    ensure_patient_access(actor, sheet.plan.patient_id)
    try:
        booked = booking.book_sessions(db, ctx, plan_id, _bookings_from_form(sheet, form, zone))
    except (PermissionDenied, NotFound):
        raise
    except InvalidInput as exc:
        db.rollback()
        errors = {exc.field or "sessions": exc.message}
        return _page(
            request, db, actor, now, zone, plan_id, values=form, errors=errors, status_code=422
        )
    except KetaclinicError as exc:
        db.rollback()
        errors = {exc.field or "sessions": exc.message}
        return _page(
            request, db, actor, now, zone, plan_id, values=form, errors=errors,
            status_code=exc.http_status,
        )  # fmt: skip
    return RedirectResponse(f"/plans/{plan_id}/bookings?booked={len(booked)}", status_code=303)


@router.post(
    "/sessions/{session_id}/reschedule", response_class=HTMLResponse, dependencies=[SessionChange]
)
def reschedule(
    request: Request,
    session_id: str,
    db: DbSession,
    actor: CurrentActor,
    now: Now,
    zone: ClinicZone,
    form: Annotated[dict[str, str], Depends(form_fields)],
) -> Response:
    details = sessions.session_details(db, session_id)
    ensure_patient_access(actor, details.patient_id)
    plan_id = booking.plan_of_session(db, session_id)
    field = f"reschedule_{session_id}"
    try:
        on = optional_date(form.get("date", ""), field)
        at = parse_time(form.get("time", ""), field)
        starts_at = None
        if on is not None or at is not None:
            if on is None or at is None:
                raise InvalidInput("Give both the date and the time, or neither.", field=field)
            starts_at = datetime.combine(on, at, tzinfo=zone)
        booking.reschedule_missed(
            db, context(actor, now, zone), session_id, starts_at=starts_at,
            chair=form.get("chair"), room=form.get("room"),
        )  # fmt: skip
    except (PermissionDenied, NotFound):
        raise
    except KetaclinicError as exc:
        db.rollback()
        if plan_id is None:
            raise
        return _page(
            request, db, actor, now, zone, plan_id, errors={field: exc.message},
            status_code=exc.http_status,
        )  # fmt: skip
    return RedirectResponse(f"/plans/{plan_id}/bookings?rescheduled=1", status_code=303)


# --- JSON API -------------------------------------------------------------------------------


class BookingIn(BaseModel):
    sequence: int = Field(ge=0, description="The calendar entry's sequence number (0 = first).")
    starts_at: datetime = Field(description="ISO 8601 with a time zone.")
    chair: str | None = None
    room: str | None = None


class BookingsIn(BaseModel):
    bookings: list[BookingIn] = Field(min_length=1)


class RescheduleIn(BaseModel):
    starts_at: datetime | None = Field(
        default=None, description="Default: the calendar's new day at the missed session's time."
    )
    chair: str | None = None
    room: str | None = None


def _sheet(sheet: BookingSheet) -> dict[str, Any]:
    def day(value: date | datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "plan_id": sheet.plan.plan_id, "patient_id": sheet.plan.patient_id,
        "protocol_id": sheet.protocol.id, "protocol_kind": sheet.protocol_kind.value,
        "responsible_clinician": sheet.responsible_clinician, "with_bprs": sheet.with_bprs,
        "sessions": [
            {
                "sequence": x.sequence, "planned_on": day(x.planned_on), "phase_id": x.phase_id,
                "number_in_phase": x.number_in_phase, "calendar_status": x.calendar_status,
                "replaces_sequence": x.replaces_sequence, "session_id": x.session_id,
                "booked_for": day(x.booked_for), "chair": x.chair, "room": x.room,
                "session_state": x.session_state, "bookable": x.bookable,
                "reschedulable": x.reschedulable,
            }
            for x in sheet.lines
        ],
    }  # fmt: skip


@router.get("/api/v1/plans/{plan_id}/bookings", dependencies=[SessionRead])
def bookings_api(
    plan_id: str, db: DbSession, actor: CurrentActor, now: Now, zone: ClinicZone
) -> dict[str, Any]:
    """The plan's calendar with the session booked for each entry (or none yet)."""
    sheet = booking.booking_sheet(db, context(actor, now, zone), plan_id)
    ensure_patient_access(actor, sheet.plan.patient_id)
    return _sheet(sheet)


@router.post("/api/v1/plans/{plan_id}/sessions", status_code=201, dependencies=[SessionChange])
def book_api(
    plan_id: str, body: BookingsIn, db: DbSession, actor: CurrentActor, now: Now, zone: ClinicZone
) -> dict[str, Any]:
    """Book calendar entries (all or nothing); errors name ``date_<n>``, ``time_<n>``..."""
    ctx = context(actor, now, zone)
    ensure_patient_access(actor, booking.booking_sheet(db, ctx, plan_id).plan.patient_id)
    wanted = [Booking(b.sequence, b.starts_at, b.chair, b.room) for b in body.bookings]
    ids = booking.book_sessions(db, ctx, plan_id, wanted)
    return {"session_ids": ids, **_sheet(booking.booking_sheet(db, ctx, plan_id))}


@router.post(
    "/api/v1/sessions/{session_id}/reschedule", status_code=201, dependencies=[SessionChange]
)
def reschedule_api(
    session_id: str,
    body: RescheduleIn,
    db: DbSession,
    actor: CurrentActor,
    now: Now,
    zone: ClinicZone,
) -> dict[str, Any]:
    """Move a missed session (no-show, or stopped before any dose) and the rest of its course."""
    ensure_patient_access(actor, sessions.session_details(db, session_id).patient_id)
    new_id = booking.reschedule_missed(
        db, context(actor, now, zone), session_id, starts_at=body.starts_at, chair=body.chair,
        room=body.room,
    )  # fmt: skip
    return {"session_id": new_id}
