"""Treatment plans: create from the latest screening, dose, calendar, sign, amend, miss, stop.

A plan is a draft until a prescriber signs it; signing freezes it. Any later change (a new dose,
start date or maintenance option) is a new version with a written reason, and the old version is
marked ``superseded`` with its remaining sessions cancelled, so the record shows what was planned
when and why it changed. A dose beyond a protocol's hard limit is refused unless the prescriber
overrides that limit with a reason; the override is stored with the plan (who, when, why).

The first session's dose is computed at planning time with the weight measured closest to that
session; ``session_dose`` recomputes it for any later session the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical.eligibility import EligibilityDecision, Treatment, all_rule_sets
from ketaclinic.clinical.overrides import Override
from ketaclinic.clinical.protocols import Protocol, get_protocol
from ketaclinic.clinical.record import parse
from ketaclinic.clinical.scheduling import WEEKDAYS, PlannedSession
from ketaclinic.clinical.scheduling import create_plan as core_create_plan
from ketaclinic.errors import InvalidInput, RuleViolation
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import RequestContext
from ketaclinic.services.patients import get_patient_row
from ketaclinic.services.plan_calendar import Continuation, continuation_of
from ketaclinic.services.plan_records import (
    PRESCRIBER_ROLES,
    DoseRequest,
    LimitOverrideRequest,
    PlanRecord,
    as_override,
    audit_plan,
    dose_for,
    plan_row,
    require_role,
    session_rows,
    stored_overrides,
    to_plan_record,
)
from ketaclinic.services.protocol_settings import effective_protocol
from ketaclinic.services.screening import current_screening_row, to_screening_record
from ketaclinic.storage.database import atomic
from ketaclinic.storage.tables.planning import (
    DoseLimitOverrideRow,
    PlanSessionRow,
    TreatmentPlanRow,
)
from ketaclinic.storage.tables.types import new_id


def treatment_for_protocol(protocol: Protocol) -> Treatment:
    """The screening rule set that covers a protocol."""
    for rule_set in all_rule_sets():
        if protocol.id in rule_set.protocols:
            return rule_set.treatment
    raise InvalidInput(f"No screening rule set covers {protocol.id}.", field="protocol")


def _limit_override(
    ctx: RequestContext, request: LimitOverrideRequest | dict[str, Any] | None
) -> Override | None:
    if request is None:
        return None
    value = (
        request
        if isinstance(request, LimitOverrideRequest)
        else parse(LimitOverrideRequest, request)
    )
    return Override.create(
        rule_ids=value.limit_ids,
        reason=value.reason,
        prescriber_id=ctx.actor.user_id or ctx.actor.display_name,
        overridden_at=ctx.now,
    )


# --- reading ---------------------------------------------------------------------------------


def get_plan(db: Session, ctx: RequestContext, plan_id: str) -> PlanRecord:
    with atomic(db):
        row = plan_row(db, plan_id)
        audit_plan(db, ctx, "plan.read", row)
        return to_plan_record(db, row)


def list_plans(db: Session, ctx: RequestContext, patient_id: str) -> list[PlanRecord]:
    """Every plan of the patient, every version, oldest first."""
    with atomic(db):
        get_patient_row(db, patient_id)
        rows = db.scalars(
            select(TreatmentPlanRow)
            .where(TreatmentPlanRow.patient_id == patient_id)
            .order_by(TreatmentPlanRow.created_at, TreatmentPlanRow.version)
        ).all()
        record_event(
            db,
            ctx.actor,
            "plan.list",
            "patient",
            patient_id,
            patient_id=patient_id,
            detail={"count": len(rows)},
            now=ctx.now,
        )
        return [to_plan_record(db, r) for r in rows]


# --- writing ---------------------------------------------------------------------------------


def _write_plan(
    db: Session,
    ctx: RequestContext,
    patient_id: str,
    protocol: Protocol,
    start_date: date,
    request: DoseRequest,
    *,
    maintenance_option: str | None,
    clinic_days: Iterable[int],
    holidays: Iterable[date],
    limit_override: Override | None,
    plan_id: str | None,
    previous: TreatmentPlanRow | None = None,
    amendment_reason: str | None = None,
    continuing: Continuation | None = None,
) -> TreatmentPlanRow:
    get_patient_row(db, patient_id)
    # The calendar keeps the clinic's minimum interval; the dose its limits and defaults.
    protocol = effective_protocol(db, protocol.id)
    treatment = treatment_for_protocol(protocol)
    screening = current_screening_row(db, patient_id, treatment)
    if screening is None:
        raise RuleViolation(
            f"The patient has not been screened for {treatment.value}: screen before planning.",
            field="screening",
        )
    decision: EligibilityDecision = to_screening_record(screening).decision
    days, closed = sorted(set(clinic_days)), sorted(set(holidays))
    core_plan = core_create_plan(
        patient_id=patient_id,
        protocol=protocol,
        prescriber_id=ctx.actor.user_id or ctx.actor.display_name,
        start_date=start_date,
        decision=decision,
        clinic_days=days,
        holidays=closed,
        maintenance_option=maintenance_option,
    )
    sessions = list(core_plan.sessions) if continuing is None else continuing.remaining
    if not sessions:
        raise InvalidInput("No sessions are left to plan in this course.", field="plan_id")
    overrides = [limit_override] if limit_override else []
    if previous is not None:
        overrides += [as_override(o) for o in stored_overrides(db, previous.id)]
    dose = dose_for(
        db,
        patient_id,
        protocol,
        request,
        sessions[0].on,
        first_session=continuing is None,
        last_session_on=None if continuing is None else continuing.last_given_on,
        overrides=overrides,
        today=ctx.now.date(),
    )
    if limit_override is not None and not any(
        c.override == limit_override for c in dose.limit_checks
    ):
        raise InvalidInput(
            "The dose is within every limit: no limit override is needed (none was stored).",
            field="limit_ids",
        )
    row = TreatmentPlanRow(
        id=plan_id or new_id(),
        patient_id=patient_id,
        protocol_id=protocol.id,
        screening_id=screening.id,
        prescriber_user_id=ctx.actor.user_id,
        prescriber_name=ctx.actor.display_name,
        start_date=start_date,
        maintenance_option=maintenance_option,
        status="draft",
        version=1 if previous is None else previous.version + 1,
        previous_version_id=None if previous is None else previous.id,
        amendment_reason=amendment_reason,
        dose_mg_per_kg=request.dose_mg_per_kg,
        dose_mg=request.dose_mg,
        first_session_dose_mg=request.first_session_dose_mg,
        # The policy the dose was computed on (the clinic's default when the plan named none).
        weight_policy=dose.weight_policy.value,
        regional_profile=request.regional_profile,
        concentration_mg_per_ml=request.concentration_mg_per_ml,
        bag_ml=request.bag_ml,
        duration_min=request.duration_min,
        dose_json=dose.model_dump(mode="json"),
        clinic_days=days,
        holidays=[d.isoformat() for d in closed],
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    db.add(row)
    db.flush()
    db.add_all(_session_row(row.id, s, ctx.now) for s in sessions)
    carried = [] if previous is None else stored_overrides(db, previous.id)
    for old in carried:
        db.add(_override_row(row, old.limit_ids, old.reason, old.overridden_at, old))
    if limit_override is not None:
        db.add(_override_row(row, sorted(limit_override.rule_ids), limit_override.reason, ctx.now))
        row_detail = {"limit_override": sorted(limit_override.rule_ids)}
    else:
        row_detail = {}
    db.flush()
    audit_plan(db, ctx, "plan.create" if previous is None else "plan.amend", row, **row_detail)
    return row


def _override_row(
    plan: TreatmentPlanRow,
    limit_ids: list[str],
    reason: str,
    at: datetime,
    copied_from: DoseLimitOverrideRow | None = None,
) -> DoseLimitOverrideRow:
    # An amended plan carries the overrides of the version it replaces, with their authors.
    return DoseLimitOverrideRow(
        plan_id=plan.id,
        patient_id=plan.patient_id,
        limit_ids=list(limit_ids),
        reason=reason,
        prescriber_user_id=(copied_from or plan).prescriber_user_id,
        prescriber_name=(copied_from or plan).prescriber_name,
        overridden_at=at,
    )


def _session_row(plan_id: str, s: PlannedSession, now: datetime) -> PlanSessionRow:
    return PlanSessionRow(
        plan_id=plan_id,
        sequence=s.index,
        scheduled_on=s.on,
        phase_id=s.phase_id,
        phase_kind=s.phase_kind,
        number_in_phase=s.number_in_phase,
        sessions_per_week=s.sessions_per_week,
        min_interval_days=s.min_interval_days,
        status=s.status,
        review_action=s.review_action,
        updated_at=now,
    )


def create_plan(
    db: Session,
    ctx: RequestContext,
    patient_id: str,
    protocol_id: str,
    start_date: date,
    *,
    dose: DoseRequest | dict[str, Any] | None = None,
    maintenance_option: str | None = None,
    clinic_days: Iterable[int] = WEEKDAYS,
    holidays: Iterable[date] = (),
    limit_override: LimitOverrideRequest | dict[str, Any] | None = None,
    plan_id: str | None = None,
) -> PlanRecord:
    """A draft plan by the signed-in prescriber, refused while the latest screening blocks it."""
    require_role(ctx, PRESCRIBER_ROLES, "create a treatment plan")
    request = dose if isinstance(dose, DoseRequest) else parse(DoseRequest, dose or {})
    protocol = get_protocol(protocol_id)
    override = _limit_override(ctx, limit_override)
    with atomic(db):
        row = _write_plan(
            db,
            ctx,
            patient_id,
            protocol,
            start_date,
            request,
            maintenance_option=maintenance_option,
            clinic_days=clinic_days,
            holidays=holidays,
            limit_override=override,
            plan_id=plan_id,
        )
        return to_plan_record(db, row)


def sign_plan(db: Session, ctx: RequestContext, plan_id: str) -> PlanRecord:
    """A prescriber signs a draft; from then on it is frozen (changes are new versions)."""
    require_role(ctx, PRESCRIBER_ROLES, "sign a treatment plan")
    with atomic(db):
        row = plan_row(db, plan_id)
        if row.status != "draft":
            raise RuleViolation(
                f"This plan is {row.status}, not a draft: it cannot be signed again. "
                "Amend it to make a new version.",
                field="plan_id",
            )
        row.status = "signed"
        row.signed_by_user_id = ctx.actor.user_id
        row.signed_by_name = ctx.actor.display_name
        row.signed_at = ctx.now
        row.updated_at = ctx.now
        db.flush()
        audit_plan(db, ctx, "plan.sign", row)
        return to_plan_record(db, row)


def amend_plan(
    db: Session,
    ctx: RequestContext,
    plan_id: str,
    reason: str,
    *,
    start_date: date | None = None,
    dose: DoseRequest | dict[str, Any] | None = None,
    maintenance_option: str | None = None,
    limit_override: LimitOverrideRequest | dict[str, Any] | None = None,
    new_plan_id: str | None = None,
) -> PlanRecord:
    """A new draft version with the changes and a written reason; the old one is superseded.

    Before the course starts, the new calendar is built from ``start_date`` (default: the old
    start). Once sessions have been given, they stay on the old version and the new one keeps
    the dates of the sessions still to give (move them with ``mark_missed``), adding the chosen
    maintenance phase if there was none; its dose is checked against the last session given.
    """
    require_role(ctx, PRESCRIBER_ROLES, "amend a treatment plan")
    if not reason.strip():
        raise InvalidInput("An amendment needs a written reason.", field="reason")
    override = _limit_override(ctx, limit_override)
    with atomic(db):
        old = plan_row(db, plan_id)
        if old.status in ("completed", "stopped", "superseded"):
            raise RuleViolation(
                f"This plan is {old.status}; only a draft, signed or active plan can be amended.",
                field="plan_id",
            )
        protocol = get_protocol(old.protocol_id)
        holidays = [date.fromisoformat(d) for d in old.holidays]
        sessions = session_rows(db, old.id)
        option = maintenance_option or old.maintenance_option
        continuing = continuation_of(
            protocol, sessions, option, old.maintenance_option, old.clinic_days, holidays
        )
        if continuing is not None and start_date is not None:
            raise InvalidInput(
                "Sessions have already been given: the remaining dates are kept. Move a session "
                "by marking it missed, or stop this plan and plan a new course.",
                field="start_date",
            )
        request = (
            to_plan_record(db, old).dose_request
            if dose is None
            else dose
            if isinstance(dose, DoseRequest)
            else parse(DoseRequest, dose)
        )
        for s in sessions:
            if s.status == "planned":
                s.status, s.updated_at = "cancelled", ctx.now
        old.status, old.updated_at = "superseded", ctx.now
        db.flush()
        row = _write_plan(
            db,
            ctx,
            old.patient_id,
            protocol,
            start_date or old.start_date,
            request,
            maintenance_option=option,
            clinic_days=old.clinic_days,
            holidays=holidays,
            limit_override=override,
            plan_id=new_plan_id,
            previous=old,
            amendment_reason=reason.strip(),
            continuing=continuing,
        )
        return to_plan_record(db, row)


def stop_plan(db: Session, ctx: RequestContext, plan_id: str, reason: str) -> PlanRecord:
    """Stop a plan early (a prescriber's decision with a reason); planned sessions are cancelled."""
    require_role(ctx, PRESCRIBER_ROLES, "stop a treatment plan")
    if not reason.strip():
        raise InvalidInput("Stopping a plan needs a written reason.", field="reason")
    with atomic(db):
        row = plan_row(db, plan_id)
        if row.status in ("completed", "stopped", "superseded"):
            raise RuleViolation(f"This plan is already {row.status}.", field="plan_id")
        for s in session_rows(db, row.id):
            if s.status == "planned":
                s.status, s.updated_at = "cancelled", ctx.now
        row.status, row.stopped_reason, row.updated_at = "stopped", reason.strip(), ctx.now
        db.flush()
        audit_plan(db, ctx, "plan.stop", row, reason=reason.strip())
        return to_plan_record(db, row)
