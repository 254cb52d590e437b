"""What the record says about a supervised session's eligibility and dose, never typed at the chair.

A session booked from a plan carries the calendar entry it carries out (``plan_session_id``); that
entry's plan version gives the protocol (as this clinic applies it: device size and spacing,
limits) and the dose (``plan_calendar.session_dose``: the plan's request on the weight closest to
the day, checked against the protocol's limits with the plan's stored overrides). The patient's
screening in force for the protocol's treatment (an override's re-decision included) says whether
treatment is allowed, and until when if the clinic sets a validity period.

At the start of dosing the dose given must be the planned dose (or what the measured volume
delivers); any other dose, and a dose beyond a limit, needs a prescriber's override with a written
reason, stored with the plan's dose-limit overrides (``DoseLimitOverrideRow``) under ids scoped to
the session and the dose (``planned-dose@session:<id>:84mg``), so it allows that dose in that
session and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical.dosing import DoseCalculation
from ketaclinic.clinical.eligibility import DecisionClass, EligibilityDecision
from ketaclinic.clinical.overrides import Override, split_overridden
from ketaclinic.clinical.protocols import Protocol
from ketaclinic.clinical.protocols.limits import DoseLimitReport, LimitCheck
from ketaclinic.clinical.sessions import mar
from ketaclinic.clinical.sessions import record as core
from ketaclinic.errors import InvalidInput, OverrideRequired, RuleViolation
from ketaclinic.services import plan_calendar
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import RequestContext
from ketaclinic.services.plan_records import (
    PRESCRIBER_ROLES,
    as_override,
    require_role,
    stored_overrides,
)
from ketaclinic.services.planning import treatment_for_protocol
from ketaclinic.services.policy import clinic_policy
from ketaclinic.services.protocol_settings import check_dose_limits, effective_protocol
from ketaclinic.services.screening import current_screening_row
from ketaclinic.storage.tables.planning import (
    DoseLimitOverrideRow,
    EligibilityOverrideRow,
    PlanSessionRow,
    ScreeningRow,
    TreatmentPlanRow,
)
from ketaclinic.storage.tables.sessions import SupervisedSessionRow
from ketaclinic.storage.tables.types import new_id

# A plan is carried out only while signed or active (or completed by this very session's entry).
_PLAN_IN_FORCE = ("signed", "active", "completed")
_ENTRY_BOOKABLE = ("planned", "done")
PLANNED_DOSE = "planned-dose"
# Doses within this of the planned (or delivered) dose are the planned dose (rounding of mg).
_SAME_DOSE_MG = 0.005


@dataclass(frozen=True)
class PlanLink:
    """The plan version and the calendar entry a session was booked from."""

    plan: TreatmentPlanRow
    entry: PlanSessionRow


def plan_link(db: Session, row: SupervisedSessionRow) -> PlanLink | None:
    if row.plan_session_id is None:
        return None
    entry = db.get(PlanSessionRow, row.plan_session_id)
    if entry is None:
        return None
    plan = db.get(TreatmentPlanRow, entry.plan_id)
    return None if plan is None else PlanLink(plan=plan, entry=entry)


def session_protocol(db: Session, row: SupervisedSessionRow) -> Protocol | None:
    """The session's protocol as this clinic applies it: its plan's, else the one it was
    scheduled with (None if neither is known)."""
    link = plan_link(db, row)
    protocol_id = link.plan.protocol_id if link is not None else row.protocol_id
    return effective_protocol(db, protocol_id) if protocol_id else None


def early_devices(protocol: Protocol | None, record: core.SessionRecord) -> list[mar.EarlyDevice]:
    """Nasal devices given sooner after the previous one than the protocol's spacing (the label's
    5 minutes, from the protocol data); empty when nothing is known to compare with."""
    if protocol is None or protocol.devices is None or record.dosing is None:
        return []
    return record.dosing.early_devices(protocol.devices.spacing_minutes)


# --- eligibility -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EligibilityFacts:
    """The screening decision in force for the session's treatment, and where it comes from."""

    valid: bool | None
    valid_until: datetime | None
    summary: str
    screening_id: str | None = None


def _override_notes(db: Session, current: ScreeningRow) -> list[str]:
    chain: list[str] = []
    row: ScreeningRow | None = current
    while row is not None and row.supersedes_id is not None:
        chain.append(row.supersedes_id)
        row = db.get(ScreeningRow, row.supersedes_id)
    if not chain:
        return []
    overrides = db.scalars(
        select(EligibilityOverrideRow)
        .where(EligibilityOverrideRow.screening_id.in_(chain))
        .order_by(EligibilityOverrideRow.overridden_at)
    )
    return [
        f"{', '.join(o.rule_ids)} overridden by {o.prescriber_name} on "
        f"{o.overridden_at.date().isoformat()} ({o.reason})"
        for o in overrides
    ]


def eligibility_facts(
    db: Session, row: SupervisedSessionRow, protocol: Protocol | None, at: datetime
) -> EligibilityFacts:
    if protocol is None:
        return EligibilityFacts(
            None, None, "no protocol is known for this session (book it from a signed plan)"
        )
    try:
        treatment = treatment_for_protocol(protocol)
    except InvalidInput as exc:
        return EligibilityFacts(None, None, exc.message)
    screening = current_screening_row(db, row.patient_id, treatment)
    if screening is None:
        return EligibilityFacts(None, None, f"no {treatment.value} screening on record")
    decision = EligibilityDecision.model_validate(screening.decision_json)
    allowed = decision.decision in (DecisionClass.ELIGIBLE, DecisionClass.ELIGIBLE_WITH_CONDITIONS)
    valid = allowed and not decision.blocking_rule_ids
    days = clinic_policy(db, row.protocol_kind).get("screening_valid_days")
    until = screening.screened_at + timedelta(days=days) if days is not None else None
    parts = [
        f"{decision.decision.value.replace('-', ' ')}: screening of "
        f"{screening.screened_at.date().isoformat()} by {screening.screened_by_name} "
        f"({decision.rule_set})",
        *_override_notes(db, screening),
    ]
    if until is None:
        parts.append("no validity period set by the clinic")
    else:
        parts.append(f"valid until {until.date().isoformat()} (clinic policy: {days:g} days)")
    return EligibilityFacts(valid, until, "; ".join(parts), screening.id)


# --- the planned dose --------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedDose:
    """The signed plan's dose for the session, or why there is none to give."""

    summary: str
    dose: DoseCalculation | None = None
    problem: str | None = None
    plan_id: str | None = None
    protocol: Protocol | None = None
    limit_checks: tuple[LimitCheck, ...] = field(default=())

    @property
    def max_dose_mg(self) -> float | None:
        """The tightest configured ceiling in mg (an mg/kg ceiling at the dosing weight)."""
        if self.dose is None:
            return None
        ceilings: list[float] = []
        for check in self.dose.limit_checks:
            if check.limit is None or check.comparison != "at-most":
                continue
            if check.id == "max-mg-per-session":
                ceilings.append(check.limit)
            elif check.id == "max-mg-per-kg":
                ceilings.append(check.limit * self.dose.dosing_weight_kg)
        return round(min(ceilings), 2) if ceilings else None

    @property
    def override_recorded(self) -> bool:
        return self.dose is not None and any(
            c.within is False and c.override is not None for c in self.dose.limit_checks
        )


def planned_dose(db: Session, ctx: RequestContext, row: SupervisedSessionRow) -> PlannedDose:
    link = plan_link(db, row)
    if link is None:
        return PlannedDose(
            "no signed plan",
            problem="No signed plan for this session: book it from the patient's signed plan "
            "(the dose comes from the plan, never typed at the chair).",
        )
    plan, entry = link.plan, link.entry
    protocol = effective_protocol(db, plan.protocol_id)
    summary = (
        f"{protocol.name}, plan version {plan.version} signed by {plan.signed_by_name or '-'}"
        f"{' on ' + plan.signed_at.date().isoformat() if plan.signed_at else ''}; calendar "
        f"session {entry.sequence} ({entry.phase_id} #{entry.number_in_phase}, "
        f"{entry.scheduled_on.isoformat()})"
    )
    base = PlannedDose(summary, plan_id=plan.id, protocol=protocol)
    if plan.status not in _PLAN_IN_FORCE or plan.signed_at is None:
        return replace(
            base, problem=f"The plan is {plan.status}: only a signed plan is carried out."
        )
    if entry.status not in _ENTRY_BOOKABLE:
        return replace(
            base,
            problem=f"Calendar session {entry.sequence} is {entry.status}: book the session "
            "from the plan's current calendar.",
        )
    try:
        dose = plan_calendar.session_dose(db, ctx, plan.id, entry.sequence)
    except OverrideRequired as exc:
        return replace(base, problem=f"The planned dose is refused: {exc.message}")
    except InvalidInput as exc:  # e.g. no weight on record to dose on
        return replace(base, problem=f"The planned dose cannot be computed: {exc.message}")
    return replace(base, dose=dose, limit_checks=dose.limit_checks)


# --- the dose given at the start of dosing -----------------------------------------------------


def _scoped(limit_id: str, session_id: str, dose_mg: float) -> str:
    return f"{limit_id}@session:{session_id}:{dose_mg:g}mg"


def _same_dose(dose_mg: float, planned: DoseCalculation) -> bool:
    candidates = [planned.dose_mg, planned.delivered_dose_mg]
    return any(c is not None and abs(dose_mg - c) < _SAME_DOSE_MG for c in candidates)


def _session_overrides(
    db: Session, plan_id: str, session_id: str, dose_mg: float
) -> tuple[list[Override], list[Override]]:
    """(the plan's own overrides, this session's overrides for this dose with plain ids)."""
    plan_wide: list[Override] = []
    here: list[Override] = []
    suffix = _scoped("", session_id, dose_mg)
    for row in stored_overrides(db, plan_id):
        override = as_override(row)
        mine = {i.removesuffix(suffix) for i in override.rule_ids if i.endswith(suffix)}
        if mine:
            here.append(override.model_copy(update={"rule_ids": frozenset(mine)}))
        elif not any("@session:" in i for i in override.rule_ids):
            plan_wide.append(override)
    return plan_wide, here


@dataclass(frozen=True)
class DoseDecision:
    """Why a dose may be given: the planned dose, or which overrides allow another one."""

    planned_mg: float
    given_mg: float
    needs: tuple[str, ...]
    report: DoseLimitReport | None
    message: str


def judge_dose(
    db: Session, ctx: RequestContext, row: SupervisedSessionRow, dose_mg: float
) -> DoseDecision:
    """Compare a dose with the plan; list the overrides it needs (none for the planned dose)."""
    planned = planned_dose(db, ctx, row)
    if planned.dose is None or planned.protocol is None or planned.plan_id is None:
        raise RuleViolation(planned.problem or "No planned dose.", field="dose_mg")
    plan_dose, protocol = planned.dose, planned.protocol
    if _same_dose(dose_mg, plan_dose):
        return DoseDecision(plan_dose.dose_mg, dose_mg, (), None, "the planned dose")
    if protocol.devices is not None:
        count = dose_mg / protocol.devices.device_mg
        if abs(count - round(count)) > 1e-9 or count < 1:
            raise InvalidInput(
                f"{dose_mg:g} mg cannot be given with {protocol.devices.device_mg:g} mg devices: "
                f"the planned dose is {plan_dose.dose_mg:g} mg.",
                field="dose_mg",
            )
    plan_wide, _ = _session_overrides(db, planned.plan_id, row.id, dose_mg)
    report = check_dose_limits(
        db, protocol.id, dose_mg=dose_mg, dose_mg_per_kg=dose_mg / plan_dose.dosing_weight_kg,
        overrides=plan_wide,
    )  # fmt: skip
    needs = (PLANNED_DOSE, *report.refused)
    breaches = "; ".join(
        f"{c.description} is {c.limit:g}, this is {c.value:g}"
        for c in report.checks
        if c.id in report.refused and c.limit is not None
    )
    message = f"{dose_mg:g} mg differs from the signed plan's {plan_dose.dose_mg:g} mg" + (
        f"; {breaches}" if breaches else ""
    )
    return DoseDecision(plan_dose.dose_mg, dose_mg, needs, report, message)


def require_dose_allowed(
    db: Session,
    ctx: RequestContext,
    row: SupervisedSessionRow,
    dose_mg: float,
    *,
    override_reason: str | None = None,
) -> DoseDecision:
    """Refuse a dose other than the planned one, or beyond a limit, unless a prescriber's override
    with a reason covers it; a prescriber may give that reason now (it is stored and audited)."""
    decision = judge_dose(db, ctx, row, dose_mg)
    if not decision.needs:
        return decision
    link = plan_link(db, row)
    assert link is not None  # judge_dose found the plan
    _, here = _session_overrides(db, link.plan.id, row.id, dose_mg)
    _, missing = split_overridden(decision.needs, here)
    if not missing:
        return decision
    if override_reason is None or not override_reason.strip():
        raise OverrideRequired(
            f"{decision.message}. A prescriber must record an override with a written reason "
            f"before this dose is given (limit ids: {', '.join(missing)}), or amend the plan.",
            rule_ids=missing,
            field="dose_mg",
        )
    record_dose_override(db, ctx, row, dose_mg, missing, override_reason)
    return decision


def record_dose_override(
    db: Session,
    ctx: RequestContext,
    row: SupervisedSessionRow,
    dose_mg: float,
    limit_ids: list[str],
    reason: str,
) -> None:
    """Store a prescriber's override allowing ``dose_mg`` in this session only, with the reason."""
    require_role(ctx, PRESCRIBER_ROLES, "override the planned dose or a dose limit")
    text = reason.strip()
    if len(text) < 3:
        raise InvalidInput("Write why this dose is given (the override's reason).", field="reason")
    link = plan_link(db, row)
    if link is None:
        raise RuleViolation("No signed plan to record the override with.", field="dose_mg")
    scoped = [_scoped(limit_id, row.id, dose_mg) for limit_id in limit_ids]
    db.add(
        DoseLimitOverrideRow(
            id=new_id(), plan_id=link.plan.id, patient_id=row.patient_id, limit_ids=scoped,
            reason=text, prescriber_user_id=ctx.actor.user_id,
            prescriber_name=ctx.actor.display_name, overridden_at=ctx.now,
        )
    )  # fmt: skip
    db.flush()
    record_event(
        db, ctx.actor, "session.dose_override", "session", row.id, patient_id=row.patient_id,
        detail={"dose_mg": dose_mg, "limit_ids": limit_ids, "reason": text}, now=ctx.now,
    )  # fmt: skip
