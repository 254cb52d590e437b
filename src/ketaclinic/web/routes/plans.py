"""Treatment plans: choose a protocol, see the computed dose (volume, rate or devices), the
schedule and the predicted concentration curve; the prescriber signs.

A plan is created as a draft (the dose is computed and checked against the protocol's limits at
that moment), reviewed on its page, then signed; a dose beyond a hard limit is refused unless the
prescriber overrides the named limit with a reason.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketaclinic.clinical.dosing.body_weight import WeightPolicy
from ketaclinic.clinical.protocols import all_protocols, get_protocol
from ketaclinic.errors import (
    InvalidInput,
    KetaclinicError,
    NotFound,
    OverrideRequired,
    PermissionDenied,
)
from ketaclinic.services import patients, planning
from ketaclinic.services.context import Actor
from ketaclinic.services.protocol_settings import effective_protocol
from ketaclinic.web import plots
from ketaclinic.web.deps import CurrentActor, DbSession, Now, ensure_patient_access, require
from ketaclinic.web.routes._clinic_forms import (
    context,
    field_errors,
    optional_date,
    optional_number,
)
from ketaclinic.web.templating import render

router = APIRouter(tags=["plans"])

PlanRead = Depends(require("treatment_plan:read"))
PlanChange = Depends(require("treatment_plan:change"))
# Ideal and adjusted weight for high BMI are practice, not guideline (dosing.yaml, unverified).
WEIGHT_POLICIES = [
    (WeightPolicy.ACTUAL.value, "Actual body weight"),
    (WeightPolicy.IDEAL.value, "Ideal body weight (practice, not guideline)"),
    (WeightPolicy.ADJUSTED.value, "Adjusted body weight (practice, not guideline)"),
]


def next_weekday(day: date) -> date:
    """The first weekday after ``day`` (a sensible default start date for a new course)."""
    following = day + timedelta(days=1)
    while following.weekday() >= 5:
        following += timedelta(days=1)
    return following


def _protocol_options() -> list[tuple[str, str]]:
    options = []
    for p in all_protocols():
        label = p.name
        for flag, word in ((p.experimental, "experimental"), (p.off_label, "off-label")):
            if flag and word not in label:
                label += f" ({word})"
        options.append((p.id, label))
    return options


def _maintenance_options() -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for protocol in all_protocols():
        for option in protocol.maintenance_options:
            seen.setdefault(option.id, option.name)
    return list(seen.items())


def _regional_options() -> list[tuple[str, str]]:
    return [
        (r.id, f"{r.region}: {r.description}") for p in all_protocols() for r in p.regional_profiles
    ]


def _new_plan_page(
    request: Request,
    db: DbSession,
    actor: Actor,
    now: datetime,
    patient_id: str,
    *,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    limit_ids: list[str] | None = None,
) -> Response:
    ensure_patient_access(actor, patient_id)
    summary = patients.get_patient_summary(db, context(actor, now), patient_id)
    defaults = {"start_date": next_weekday(now.date()).isoformat(), "weight_policy": ""}
    return render(
        request,
        "plan_new.html",
        {
            "pid": patient_id,
            "summary": summary,
            "values": values or defaults,
            "errors": errors or {},
            "problem": problem,
            "limit_ids": limit_ids or [],
            "protocols": _protocol_options(),
            # As this clinic applies them (its settings of defaults and limits).
            "protocol_details": [effective_protocol(db, p.id) for p in all_protocols()],
            "maintenance": _maintenance_options(),
            "regional": _regional_options(),
            "weight_policies": WEIGHT_POLICIES,
        },
        status_code=status_code,
    )


@router.get(
    "/patients/{patient_id}/plans/new", response_class=HTMLResponse, dependencies=[PlanChange]
)
def new_plan_form(
    request: Request, patient_id: str, db: DbSession, actor: CurrentActor, now: Now
) -> Response:
    return _new_plan_page(request, db, actor, now, patient_id)


@router.post("/patients/{patient_id}/plans", response_class=HTMLResponse, dependencies=[PlanChange])
def create_plan(
    request: Request,
    patient_id: str,
    db: DbSession,
    actor: CurrentActor,
    now: Now,
    protocol_id: Annotated[str, Form()] = "",
    start_date: Annotated[str, Form()] = "",
    dose_mg_per_kg: Annotated[str, Form()] = "",
    dose_mg: Annotated[str, Form()] = "",
    first_session_dose_mg: Annotated[str, Form()] = "",
    weight_policy: Annotated[str, Form()] = "",
    maintenance_option: Annotated[str, Form()] = "",
    regional_profile: Annotated[str, Form()] = "",
    duration_min: Annotated[str, Form()] = "",
    limit_ids: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI form default
    limit_reason: Annotated[str, Form()] = "",
) -> Response:
    ensure_patient_access(actor, patient_id)
    values = {
        "protocol_id": protocol_id,
        "start_date": start_date,
        "dose_mg_per_kg": dose_mg_per_kg,
        "dose_mg": dose_mg,
        "first_session_dose_mg": first_session_dose_mg,
        "weight_policy": weight_policy,
        "maintenance_option": maintenance_option,
        "regional_profile": regional_profile,
        "duration_min": duration_min,
        "limit_reason": limit_reason,
    }
    try:
        if not protocol_id:
            raise InvalidInput("Choose a protocol.", field="protocol_id")
        get_protocol(protocol_id)
        start = optional_date(start_date, "start_date")
        if start is None:
            raise InvalidInput("Enter the first session's date as YYYY-MM-DD.", field="start_date")
        dose: dict[str, Any] = {"weight_policy": weight_policy} if weight_policy else {}
        for name, text, label in (
            ("dose_mg_per_kg", dose_mg_per_kg, "The dose in mg/kg"),
            ("dose_mg", dose_mg, "The dose in mg"),
            ("first_session_dose_mg", first_session_dose_mg, "The first session's dose in mg"),
            ("duration_min", duration_min, "The duration"),
        ):
            number = optional_number(text, name, label)
            if number is not None:
                dose[name] = number
        if regional_profile:
            dose["regional_profile"] = regional_profile
        override = {"limit_ids": limit_ids, "reason": limit_reason} if limit_ids else None
        plan = planning.create_plan(
            db,
            context(actor, now),
            patient_id,
            protocol_id,
            start,
            dose=dose,
            maintenance_option=maintenance_option or None,
            limit_override=override,
        )
    except OverrideRequired as exc:
        db.rollback()
        return _new_plan_page(
            request,
            db,
            actor,
            now,
            patient_id,
            status_code=422,
            values=values,
            problem=exc.message,
            limit_ids=exc.rule_ids,
        )
    except InvalidInput as exc:
        db.rollback()
        errors = field_errors(exc, "protocol_id")
        errors = {("protocol_id" if k == "protocol" else k): v for k, v in errors.items()}
        return _new_plan_page(
            request, db, actor, now, patient_id, status_code=422, values=values, errors=errors
        )
    except (PermissionDenied, NotFound):
        raise
    except KetaclinicError as exc:
        db.rollback()
        return _new_plan_page(
            request,
            db,
            actor,
            now,
            patient_id,
            status_code=exc.http_status,
            values=values,
            problem=exc.message,
        )
    return RedirectResponse(f"/plans/{plan.plan_id}", status_code=303)


def _plan_page(
    request: Request,
    db: DbSession,
    actor: Actor,
    now: datetime,
    plan_id: str,
    *,
    problem: str | None = None,
    status_code: int = 200,
) -> Response:
    ctx = context(actor, now)
    plan = planning.get_plan(db, ctx, plan_id)
    ensure_patient_access(actor, plan.patient_id)
    summary = patients.get_patient_summary(db, ctx, plan.patient_id)
    protocol = effective_protocol(db, plan.protocol_id)
    curve = curve_error = None
    try:
        curve = plots.plan_curve(plan, summary.identity, summary.age_years)
    except KetaclinicError as exc:
        curve_error = exc.message
    return render(
        request,
        "plan_detail.html",
        {
            "plan": plan,
            "protocol": protocol,
            "summary": summary,
            "pid": plan.patient_id,
            "dose": plan.first_dose,
            "curve": curve,
            "curve_error": curve_error,
            "problem": problem,
            "may_sign": actor.role == "prescriber" and plan.status == "draft",
        },
        status_code=status_code,
    )


@router.get("/plans/{plan_id}", response_class=HTMLResponse, dependencies=[PlanRead])
def plan_page(
    request: Request, plan_id: str, db: DbSession, actor: CurrentActor, now: Now
) -> Response:
    return _plan_page(request, db, actor, now, plan_id)


@router.post("/plans/{plan_id}/sign", response_class=HTMLResponse, dependencies=[PlanChange])
def sign_plan(
    request: Request, plan_id: str, db: DbSession, actor: CurrentActor, now: Now
) -> Response:
    ctx = context(actor, now)
    plan = planning.get_plan(db, ctx, plan_id)
    ensure_patient_access(actor, plan.patient_id)
    try:
        planning.sign_plan(db, ctx, plan_id)
    except (PermissionDenied, NotFound):
        raise
    except KetaclinicError as exc:
        db.rollback()
        return _plan_page(request, db, actor, now, plan_id, problem=exc.message, status_code=409)
    return RedirectResponse(f"/plans/{plan_id}?signed=1", status_code=303)


@router.get("/plans/{plan_id}/curve.png", dependencies=[PlanRead])
def plan_curve_image(plan_id: str, db: DbSession, actor: CurrentActor, now: Now) -> Response:
    """The plan's predicted concentration curve with the bands shaded."""
    ctx = context(actor, now)
    plan = planning.get_plan(db, ctx, plan_id)
    ensure_patient_access(actor, plan.patient_id)
    summary = patients.get_patient_summary(db, ctx, plan.patient_id)
    curve = plots.plan_curve(plan, summary.identity, summary.age_years)
    return Response(plots.plan_curve_png(curve), media_type="image/png")
