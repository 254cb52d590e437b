"""The session monitor, for a tablet at the chair: one page per supervised session.

The page shows what the session needs next (check-in, the pre-dose checklist, start of dosing,
devices or rate changes, quick entry of vitals and scales, the discharge checklist, signature and
addenda), with the checkpoint timers and open alerts always at the top. Every step posts a form to
one route that calls one use case of ``services.sessions``; a refused step re-renders the page with
the reason beside the field and everything typed kept, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from ketaclinic.clinical.sessions.lifecycle import SessionState
from ketaclinic.clinical.sessions.predose import ClinicianDecision, PredoseResult
from ketaclinic.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation
from ketaclinic.services import rems, session_today, sessions
from ketaclinic.services.context import Actor, RequestContext
from ketaclinic.services.patients import get_patient_row
from ketaclinic.storage.tables.access import User
from ketaclinic.storage.tables.types import new_id
from ketaclinic.web import session_forms as forms
from ketaclinic.web.deps import (
    CurrentActor,
    DbSession,
    Now,
    clinic_zone,
    ensure_patient_access,
    require,
)
from ketaclinic.web.templating import NavItem, add_nav_item, render

router = APIRouter(prefix="/sessions", tags=["session monitor"])

SessionRead = Depends(require("treatment_session:read"))
SessionChange = Depends(require("treatment_session:change"))

add_nav_item(
    NavItem(
        "Sessions", "/sessions", "treatment_session:read",
        "Today's supervised sessions: open one on the tablet at the chair.",
    )
)  # fmt: skip

ACTIVE = {
    SessionState.SCHEDULED, SessionState.CHECKED_IN, SessionState.PREDOSE_PASSED,
    SessionState.DOSING, SessionState.MONITORING, SessionState.READY_FOR_DISCHARGE,
}  # fmt: skip
READINGS_OPEN = {
    SessionState.CHECKED_IN, SessionState.PREDOSE_PASSED, SessionState.DOSING,
    SessionState.MONITORING, SessionState.READY_FOR_DISCHARGE,
}  # fmt: skip


async def _form(request: Request) -> dict[str, str]:
    data = await request.form()
    return {key: value for key, value in data.items() if isinstance(value, str)}


def _ctx(request: Request, actor: Actor, now: datetime) -> RequestContext:
    # With the clinic's time zone: closing a session dates its REMS form by the clinic's day.
    return RequestContext(actor, now, clinic_zone(request))


def monitor_page(
    request: Request,
    db: Session,
    actor: Actor,
    now: datetime,
    session_id: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    predose: PredoseResult | None = None,
    status_code: int = 200,
) -> Response:
    ctx = _ctx(request, actor, now)
    record = sessions.get_session(db, ctx, session_id)
    ensure_patient_access(actor, record.patient_id)
    details = sessions.session_details(db, session_id)
    patient = get_patient_row(db, record.patient_id)
    points = session_today.checkpoints(db, ctx, session_id)
    discharge = None
    escort = (values or {}).get("escort_present") == "yes"
    if record.state in (SessionState.MONITORING, SessionState.READY_FOR_DISCHARGE):
        discharge = sessions.discharge_assessment(db, ctx, session_id, escort_present=escort)
    form = None
    if record.protocol_kind.is_rems and record.state in (
        SessionState.DISCHARGED,
        SessionState.ABORTED,
    ):
        try:
            form = rems.get_form(db, ctx, session_id)
        except NotFound:  # no device was given, so no form is owed
            form = None
    early = sessions.device_spacing_warnings(db, record) if record.dosing else []
    # Eligibility, the signed plan's dose and the limits, read-only with where they come from.
    facts = None
    if record.state in (SessionState.CHECKED_IN, SessionState.PREDOSE_PASSED):
        facts = sessions.predose_facts(db, ctx, session_id)
    context: dict[str, Any] = {
        "early_devices": early, "early_devices_by_at": {e.device.at: e for e in early},
        "facts": facts,
        "record": record, "details": details, "patient": patient, "checkpoints": points,
        "discharge": discharge, "rems_form": form, "now": now, "errors": errors or {},
        "values": values or {}, "predose": predose or record.predose,
        "vital_fields": forms.VITAL_FIELDS, "scale_fields": forms.SCALE_FIELDS,
        "labels": forms.MEASURE_LABELS, "active": record.state in ACTIVE,
        "readings_open": record.state in READINGS_OPEN,
        "is_rems": record.protocol_kind.is_rems, "iv": record.protocol_kind.value == "iv-racemic",
    }  # fmt: skip
    return render(request, "session_monitor.html", context, status_code=status_code)


def _act(
    request: Request,
    db: Session,
    actor: Actor,
    now: datetime,
    session_id: str,
    form: dict[str, str],
    step: Callable[[RequestContext], object],
    anchor: str,
) -> Response:
    """Run one use case; on a refusal show the page again with the reason and the typed values."""
    ctx = _ctx(request, actor, now)
    record = sessions.session_details(db, session_id)
    ensure_patient_access(actor, record.patient_id)
    try:
        step(ctx)
    except (InvalidInput, RuleViolation, PermissionDenied) as exc:
        db.rollback()
        errors = {exc.field or "form": exc.message}
        return monitor_page(
            request, db, actor, now, session_id, errors=errors, values=form, status_code=422
        )
    return RedirectResponse(f"/sessions/{session_id}#{anchor}", status_code=303)


@router.get("", response_class=HTMLResponse, dependencies=[SessionRead])
def session_list(request: Request, db: DbSession, actor: CurrentActor, now: Now) -> Response:
    """Today's sessions (the clinic's day), each linking to its monitor."""
    ctx = _ctx(request, actor, now)
    entries = session_today.today_list(db, ctx, ctx.today, ctx.clinic_tz)
    return render(request, "session_list.html", {"entries": entries, "now": now})


@router.get("/{session_id}", response_class=HTMLResponse, dependencies=[SessionRead])
def monitor(
    request: Request, session_id: str, db: DbSession, actor: CurrentActor, now: Now
) -> Response:
    return monitor_page(request, db, actor, now, session_id)


Change = Annotated[User, SessionChange]


@router.post("/{session_id}/check-in", response_class=HTMLResponse)
async def check_in(
    request: Request, session_id: str, db: DbSession, actor: CurrentActor, now: Now, _: Change
) -> Response:
    form = await _form(request)
    step = lambda ctx: sessions.check_in(db, ctx, session_id)  # noqa: E731
    return _act(request, db, actor, now, session_id, form, step, "next-step")


@router.post("/{session_id}/no-show", response_class=HTMLResponse)
async def no_show(
    request: Request, session_id: str, db: DbSession, actor: CurrentActor, now: Now, _: Change
) -> Response:
    form = await _form(request)
    step = lambda ctx: sessions.no_show(db, ctx, session_id)  # noqa: E731
    return _act(request, db, actor, now, session_id, form, step, "next-step")


@router.post("/{session_id}/abort", response_class=HTMLResponse)
async def abort(
    request: Request, session_id: str, db: DbSession, actor: CurrentActor, now: Now, _: Change
) -> Response:
    form = await _form(request)
    reason = forms.text(form, "abort_reason")

    def step(ctx: RequestContext) -> object:
        if len(reason) < 3:
            raise InvalidInput("Write why the session is stopped.", field="abort_reason")
        return sessions.abort(db, ctx, session_id, reason=reason)

    return _act(request, db, actor, now, session_id, form, step, "next-step")


def _predose_answers(form: dict[str, str], now: datetime) -> dict[str, Any]:
    return {
        "identity_confirmed": forms.yes_no(form, "identity_confirmed"),
        "last_food_at": forms.ago(form, "food_hours_ago", "Last solid food", "hours", now),
        "last_liquid_at": forms.ago(form, "liquid_minutes_ago", "Last liquids", "minutes", now),
        "escort_confirmed": forms.yes_no(form, "escort_confirmed"),
        "transport_confirmed": forms.yes_no(form, "transport_confirmed"),
        "pregnancy_status": forms.text(form, "pregnancy_status") or None,
    }


def _decisions(form: dict[str, str], actor: Actor, now: datetime) -> dict[str, ClinicianDecision]:
    """A written decision to proceed where a check needs one (e.g. blood pressure above the gate);
    the service refuses it unless the signed-in person is a prescriber."""
    found: dict[str, ClinicianDecision] = {}
    for key, note in form.items():
        if key.startswith("decision_") and note.strip():
            if len(note.strip()) < 3:
                raise InvalidInput("Write the decision in a few words.", field=key)
            check_id = key.removeprefix("decision_")
            found[check_id] = ClinicianDecision(by=actor.display_name, at=now, note=note.strip())
    return found


@router.post("/{session_id}/predose", response_class=HTMLResponse)
async def predose(
    request: Request, session_id: str, db: DbSession, actor: CurrentActor, now: Now, _: Change
) -> Response:
    """ "Check" shows every pre-dose item now without saving; "Pass" moves on if all are met."""
    form = await _form(request)
    ctx = _ctx(request, actor, now)
    ensure_patient_access(actor, sessions.session_details(db, session_id).patient_id)
    try:
        answers = _predose_answers(form, now)
        decisions = _decisions(form, actor, now)
        result = sessions.evaluate_predose_checks(db, ctx, session_id, answers, decisions=decisions)
    except (InvalidInput, RuleViolation, PermissionDenied) as exc:
        db.rollback()
        errors = {exc.field or "decisions": exc.message}
        return monitor_page(
            request, db, actor, now, session_id, errors=errors, values=form, status_code=422
        )
    if form.get("action") != "pass":
        return monitor_page(request, db, actor, now, session_id, values=form, predose=result)
    if not result.passed:
        return monitor_page(
            request, db, actor, now, session_id, values=form, predose=result, status_code=422,
            errors={"predose": "Not every pre-dose check is met: see the list below."},
        )  # fmt: skip
    step = lambda c: sessions.pass_predose(db, c, session_id, answers, decisions=decisions)  # noqa: E731
    return _act(request, db, actor, now, session_id, form, step, "next-step")


@router.post("/{session_id}/dosing/start", response_class=HTMLResponse)
async def start_dosing(
    request: Request, session_id: str, db: DbSession, actor: CurrentActor, now: Now, _: Change
) -> Response:
    form = await _form(request)

    def step(ctx: RequestContext) -> object:
        iv = form.get("iv") == "yes"
        lot = forms.text(form, "lot_number")
        if not lot:
            raise InvalidInput(
                "Lot number: copy it from the vial or device box.", field="lot_number"
            )
        return sessions.start_dosing(
            db, ctx, session_id,
            product=forms.text(form, "product"), formulation=forms.text(form, "formulation"),
            lot_number=lot, dose_mg=forms.required_number(form, "dose_mg", "Dose"),
            administered_by=forms.text(form, "administered_by") or actor.display_name,
            supervised_by=forms.text(form, "supervised_by") or actor.display_name,
            concentration_mg_per_ml=forms.number(form, "concentration_mg_per_ml", "Concentration")
            if iv else None,
            initial_rate_mg_per_h=forms.number(form, "initial_rate_mg_per_h", "Initial rate")
            if iv else None,
            override_reason=forms.text(form, "override_reason") or None,
        )  # fmt: skip

    return _act(request, db, actor, now, session_id, form, step, "dosing")


@router.post("/{session_id}/dosing/event", response_class=HTMLResponse)
async def dosing_event(
    request: Request, session_id: str, db: DbSession, actor: CurrentActor, now: Now, _: Change
) -> Response:
    """A nasal device given, an infusion rate change, a pause or a resume."""
    form = await _form(request)

    def step(ctx: RequestContext) -> object:
        kind = forms.text(form, "kind")
        return sessions.add_dosing_event(
            db, ctx, session_id, kind,
            device_mg=forms.number(form, "device_mg", "Device dose") if kind == "device" else None,
            rate_mg_per_h=forms.number(form, "rate_mg_per_h", "New rate")
            if kind == "rate-change" else None,
            reason=forms.text(form, "reason") or None,
        )  # fmt: skip

    return _act(request, db, actor, now, session_id, form, step, "dosing")


@router.post("/{session_id}/dosing/end", response_class=HTMLResponse)
async def end_dosing(
    request: Request, session_id: str, db: DbSession, actor: CurrentActor, now: Now, _: Change
) -> Response:
    form = await _form(request)
    note = forms.text(form, "stop_note") or None
    step = lambda ctx: sessions.end_dosing(db, ctx, session_id, note=note)  # noqa: E731
    return _act(request, db, actor, now, session_id, form, step, "readings")


@router.post("/{session_id}/readings", response_class=HTMLResponse)
async def record_reading(
    request: Request, session_id: str, db: DbSession, actor: CurrentActor, now: Now, _: Change
) -> Response:
    """Quick entry of vitals and scales; alerts it raises appear at the top of the page."""
    form = await _form(request)

    def step(ctx: RequestContext) -> object:
        measures = forms.measures_from(form)
        minutes = forms.number(form, "minutes_ago", "Taken how many minutes ago")
        taken_at = now if not minutes else forms.ago(form, "minutes_ago", "Taken", "minutes", now)
        return sessions.record_observation(
            db, ctx, session_id, new_id(), measures, taken_at=taken_at
        )

    return _act(request, db, actor, now, session_id, form, step, "alerts")


@router.post("/{session_id}/alerts/{alert_id}/acknowledge", response_class=HTMLResponse)
async def acknowledge(
    request: Request,
    session_id: str,
    alert_id: str,
    db: DbSession,
    actor: CurrentActor,
    now: Now,
    _: Change,
) -> Response:
    form = await _form(request)
    note = forms.text(form, f"note_{alert_id}")

    def step(ctx: RequestContext) -> object:
        try:
            return sessions.acknowledge_alert(db, ctx, session_id, alert_id, note=note)
        except InvalidInput as exc:
            raise InvalidInput(exc.message, field=f"note_{alert_id}") from None

    return _act(request, db, actor, now, session_id, form, step, "alerts")


@router.post("/{session_id}/discharge", response_class=HTMLResponse)
async def discharge(
    request: Request, session_id: str, db: DbSession, actor: CurrentActor, now: Now, _: Change
) -> Response:
    """Mark ready or discharge; refused with every unmet criterion explained."""
    form = await _form(request)
    escort = form.get("escort_present") == "yes"
    action = form.get("action", "")

    def step(ctx: RequestContext) -> object:
        if action == "mark_ready":
            return sessions.mark_ready(db, ctx, session_id, escort_present=escort)
        if action == "discharge":
            return sessions.discharge(db, ctx, session_id, escort_present=escort)
        if action == "resume":
            reason = forms.text(form, "resume_reason")
            if len(reason) < 3:
                raise InvalidInput("Write why monitoring resumes.", field="resume_reason")
            return sessions.resume_monitoring(db, ctx, session_id, reason=reason)
        raise InvalidInput("Choose mark ready, discharge or resume monitoring.", field="action")

    return _act(request, db, actor, now, session_id, form, step, "discharge")


@router.post("/{session_id}/sign", response_class=HTMLResponse)
async def sign(
    request: Request, session_id: str, db: DbSession, actor: CurrentActor, now: Now, _: Change
) -> Response:
    form = await _form(request)
    step = lambda ctx: sessions.sign(db, ctx, session_id)  # noqa: E731
    return _act(request, db, actor, now, session_id, form, step, "signature")


@router.post("/{session_id}/addenda", response_class=HTMLResponse)
async def addendum(
    request: Request, session_id: str, db: DbSession, actor: CurrentActor, now: Now, _: Change
) -> Response:
    form = await _form(request)
    text = forms.text(form, "text")
    step = lambda ctx: sessions.add_addendum(db, ctx, session_id, text)  # noqa: E731
    return _act(request, db, actor, now, session_id, form, step, "signature")
