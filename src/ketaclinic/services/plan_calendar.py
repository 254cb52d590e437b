"""A signed plan's calendar over time: sessions given, sessions missed and moved, each one's dose.

A missed session stays in the calendar as ``missed``; the clinical core moves it and every later
session forward (keeping phase, number, review points, minimum intervals and clinic days). The
rows that were moved are kept as ``rescheduled`` and their replacements are new rows pointing at
them (``replaces_sequence``), so the calendar's history is never rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from ketaclinic.clinical.dosing import DoseCalculation
from ketaclinic.clinical.protocols import Protocol, get_protocol
from ketaclinic.clinical.scheduling import (
    PlannedSession,
    next_session_date,
    reschedule_after_missed,
)
from ketaclinic.errors import InvalidInput, RuleViolation
from ketaclinic.services.context import RequestContext
from ketaclinic.services.plan_records import (
    LIVE_STATUSES,
    STAFF_ROLES,
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
from ketaclinic.storage.database import atomic
from ketaclinic.storage.tables.planning import PlanSessionRow, TreatmentPlanRow

RUNNING_STATUSES = ("signed", "active")


def running_plan(db: Session, plan_id: str) -> TreatmentPlanRow:
    """The plan, if signed or active; sessions are given (and booked) only on such a plan."""
    row = plan_row(db, plan_id)
    if row.status not in RUNNING_STATUSES:
        raise RuleViolation(
            f"This plan is {row.status}: sessions are recorded only on a signed or active plan"
            + (" (a prescriber must sign it first)." if row.status == "draft" else "."),
            field="plan_id",
        )
    return row


def _live(db: Session, plan_id: str) -> list[PlanSessionRow]:
    return [s for s in session_rows(db, plan_id) if s.status in LIVE_STATUSES]


def _find(live: list[PlanSessionRow], sequence: int) -> tuple[int, PlanSessionRow]:
    for position, row in enumerate(live):
        if row.sequence == sequence:
            return position, row
    numbers = ", ".join(str(r.sequence) for r in live if r.status == "planned")
    raise InvalidInput(
        f"Session {sequence} is not in the plan's current calendar (planned: {numbers}).",
        field="sequence",
    )


def _as_core(row: PlanSessionRow, index: int) -> PlannedSession:
    # A session already given counts, like a planned one, for spacing the ones after it.
    return PlannedSession(
        index=index,
        on=row.scheduled_on,
        phase_id=row.phase_id,
        phase_kind="induction" if row.phase_kind == "induction" else "maintenance",
        number_in_phase=row.number_in_phase,
        sessions_per_week=row.sessions_per_week,
        min_interval_days=row.min_interval_days,
        status="missed" if row.status == "missed" else "planned",
        review_action=row.review_action,
    )


@dataclass(frozen=True)
class Continuation:
    """The rest of a course already under way: the sessions still to give, and the last given."""

    remaining: list[PlannedSession]
    last_given_on: date


def continuation_of(
    protocol: Protocol,
    rows: list[PlanSessionRow],
    maintenance_option: str | None,
    old_option: str | None,
    clinic_days: list[int],
    holidays: list[date],
) -> Continuation | None:
    """Keep the dates of the sessions not yet given; add a newly chosen maintenance phase."""
    given = [r.scheduled_on for r in rows if r.status == "done"]
    if not given:
        return None
    pending = [r for r in rows if r.status == "planned"]
    remaining = [
        PlannedSession(
            index=i,
            on=r.scheduled_on,
            phase_id=r.phase_id,
            phase_kind="induction" if r.phase_kind == "induction" else "maintenance",
            number_in_phase=r.number_in_phase,
            sessions_per_week=r.sessions_per_week,
            min_interval_days=r.min_interval_days,
            review_action=r.review_action,
        )
        for i, r in enumerate(pending)
    ]
    if maintenance_option is not None and maintenance_option != old_option:
        if old_option is not None:
            raise InvalidInput(
                f"The course already continues with '{old_option}'; stop this plan and plan "
                "the new maintenance separately.",
                field="maintenance_option",
            )
        phase = protocol.maintenance_option(maintenance_option)
        if phase is None:
            known = ", ".join(p.id for p in protocol.maintenance_options) or "none"
            raise InvalidInput(
                f"{protocol.id} has no maintenance option '{maintenance_option}' "
                f"(options: {known}).",
                field="maintenance_option",
            )
        placed = [*given, *(s.on for s in remaining)]
        for number in range(1, phase.session_count + 1):
            on = next_session_date(
                placed,
                placed[-1],
                phase.sessions_per_week,
                protocol.limits.min_interval_days,
                frozenset(clinic_days),
                frozenset(holidays),
            )
            placed.append(on)
            remaining.append(
                PlannedSession(
                    index=len(remaining),
                    on=on,
                    phase_id=phase.id,
                    phase_kind=phase.kind,
                    number_in_phase=number,
                    sessions_per_week=phase.sessions_per_week,
                    min_interval_days=protocol.limits.min_interval_days,
                    review_action=phase.review_action if number == phase.session_count else None,
                )
            )
    return Continuation(remaining, max(given))


def mark_missed(
    db: Session, ctx: RequestContext, plan_id: str, sequence: int, *, today: date | None = None
) -> PlanRecord:
    """Record a missed session and move it and the later sessions forward from ``today``."""
    require_role(ctx, STAFF_ROLES, "mark a session missed")
    on = today or ctx.now.date()
    with atomic(db):
        plan = running_plan(db, plan_id)
        live = _live(db, plan_id)
        position, missed = _find(live, sequence)
        if missed.status != "planned":
            raise InvalidInput(f"Session {sequence} is already {missed.status}.", field="sequence")
        if any(r.status == "done" for r in live[position + 1 :]):
            raise InvalidInput(
                f"A session after {sequence} was already given: record sessions in order.",
                field="sequence",
            )
        moved = reschedule_after_missed(
            [_as_core(r, i) for i, r in enumerate(live)],
            position,
            on,
            plan.clinic_days,
            [date.fromisoformat(d) for d in plan.holidays],
        )
        originals = [missed, *(r for r in live[position + 1 :] if r.status == "planned")]
        missed.status, missed.updated_at = "missed", ctx.now
        for row in originals[1:]:
            row.status, row.updated_at = "rescheduled", ctx.now
        next_sequence = max(r.sequence for r in session_rows(db, plan_id)) + 1
        for offset, (original, session) in enumerate(
            zip(originals, moved[position + 1 :], strict=True)
        ):
            db.add(
                PlanSessionRow(
                    plan_id=plan_id,
                    sequence=next_sequence + offset,
                    scheduled_on=session.on,
                    phase_id=session.phase_id,
                    phase_kind=session.phase_kind,
                    number_in_phase=session.number_in_phase,
                    sessions_per_week=session.sessions_per_week,
                    min_interval_days=session.min_interval_days,
                    status="planned",
                    replaces_sequence=original.sequence,
                    review_action=session.review_action,
                    updated_at=ctx.now,
                )
            )
        plan.updated_at = ctx.now
        db.flush()
        audit_plan(
            db,
            ctx,
            "plan.session.missed",
            plan,
            sequence=sequence,
            scheduled_on=missed.scheduled_on.isoformat(),
            moved=len(originals),
        )
        return to_plan_record(db, plan)


def mark_done(db: Session, ctx: RequestContext, plan_id: str, sequence: int) -> PlanRecord:
    """Record a session as given; the plan becomes active, and completed after its last session."""
    require_role(ctx, STAFF_ROLES, "record a session as given")
    with atomic(db):
        plan = running_plan(db, plan_id)
        live = _live(db, plan_id)
        position, row = _find(live, sequence)
        if row.status != "planned":
            raise InvalidInput(f"Session {sequence} is already {row.status}.", field="sequence")
        if row.scheduled_on > ctx.now.date():
            raise InvalidInput(
                f"Session {sequence} is planned for {row.scheduled_on}; it cannot be given "
                f"before then (today is {ctx.now.date()}). Amend the plan to move it.",
                field="sequence",
            )
        if any(r.status == "planned" for r in live[:position]):
            earlier = next(r.sequence for r in live[:position] if r.status == "planned")
            raise InvalidInput(
                f"Session {earlier} comes first: record it as given or missed before {sequence}.",
                field="sequence",
            )
        row.status, row.updated_at = "done", ctx.now
        remaining = any(r.status == "planned" for r in live if r is not row)
        plan.status = "active" if remaining else "completed"
        plan.updated_at = ctx.now
        db.flush()
        audit_plan(db, ctx, "plan.session.done", plan, sequence=sequence)
        return to_plan_record(db, plan)


def session_dose(
    db: Session,
    ctx: RequestContext,
    plan_id: str,
    sequence: int,
    *,
    first_device_at: datetime | None = None,
) -> DoseCalculation:
    """The dose for one calendar session: the weight measured closest to that day, the plan's
    dose request, the interval since the previous live session, and the plan's stored overrides.
    A limit breached without an override raises ``OverrideRequired``."""
    require_role(ctx, STAFF_ROLES, "read a session dose")
    with atomic(db):
        plan = plan_row(db, plan_id)
        live = _live(db, plan_id)
        position, row = _find(live, sequence)
        given_before = [r.scheduled_on for r in live[:position] if r.status != "missed"]
        request = to_plan_record(db, plan).dose_request
        dose = dose_for(
            db,
            plan.patient_id,
            get_protocol(plan.protocol_id),
            request,
            row.scheduled_on,
            first_session=not given_before,
            last_session_on=given_before[-1] if given_before else None,
            overrides=[as_override(o) for o in stored_overrides(db, plan_id)],
            first_device_at=first_device_at,
        )
        audit_plan(db, ctx, "plan.session.dose", plan, sequence=sequence, dose_mg=dose.dose_mg)
        return dose
