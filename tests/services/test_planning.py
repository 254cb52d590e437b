"""Treatment plans through the services: screening gate, dose, limits, calendar, sign, amend.

Hand-worked figures (clinic day Monday 2 March 2026; clinic open Monday to Friday):
- 80 kg x 0.5 mg/kg = 40 mg; at 10 mg/mL that is 4.0 mL; 100 mL bag + 4 mL over 40 min
  = 104 mL / (40/60) h = 156 mL/h.
- IV thrice weekly from Wednesday 4 March: Wed 4, Fri 6, Mon 9, Wed 11, Fri 13, Mon 16 (never
  two days running, never at the weekend, at most three in any seven days).
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from screened_patients import STATED_ALL_CLEAR, make_known_patient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaclinic.errors import InvalidInput, OverrideRequired, PermissionDenied, RuleViolation
from ketaclinic.services import patients, plan_calendar, planning, screening
from ketaclinic.services.context import RequestContext
from ketaclinic.storage.tables.access import AuditEvent
from ketaclinic.storage.tables.planning import (
    DoseLimitOverrideRow,
    PlanSessionRow,
    TreatmentPlanRow,
)
from support.clinic import PRESCRIBER, context

IV3 = "iv-racemic-thrice-weekly"
IV2 = "iv-racemic-twice-weekly"
WED_4_MARCH = date(2026, 3, 4)


@pytest.fixture
def doctor() -> RequestContext:
    return context(PRESCRIBER)


def _screened(
    db: Session, ctx: RequestContext, treatment: str = "racemic-iv-im", **kw: object
) -> str:
    pid = make_known_patient(db, ctx, **kw)  # type: ignore[arg-type]
    screening.screen_patient(db, ctx, pid, treatment, STATED_ALL_CLEAR)
    return pid


def _dates(plan: planning.PlanRecord, status: str = "planned") -> list[date]:
    return [s.scheduled_on for s in plan.sessions if s.status == status]


def test_iv_plan_doses_and_calendar_by_hand(
    db: Session, ctx: RequestContext, doctor: RequestContext
) -> None:
    pid = _screened(db, ctx)
    plan = planning.create_plan(db, doctor, pid, IV3, WED_4_MARCH)
    db.commit()

    assert plan.status == "draft"
    assert plan.version == 1
    dose = plan.first_dose
    assert dose.dose_mg == 40.0
    assert dose.volume_ml == 4.0
    assert dose.concentration_mg_per_ml == 10
    assert dose.rate_ml_per_h == 156.0
    assert _dates(plan) == [date(2026, 3, d) for d in (4, 6, 9, 11, 13, 16)]
    assert [s.scheduled_on for s in plan.review_points] == [date(2026, 3, 16)]
    assert db.scalar(select(func.count()).select_from(PlanSessionRow)) == 6


def test_twice_weekly_plan_skips_weekends_and_holidays(
    db: Session, ctx: RequestContext, doctor: RequestContext
) -> None:
    pid = _screened(db, ctx)
    plan = planning.create_plan(db, doctor, pid, IV2, date(2026, 3, 2), holidays=[date(2026, 3, 5)])
    # Mon 2; Thu 5 is a holiday -> Fri 6; +3 days = Mon 9; Thu 12 would make three in the
    # seven days from Fri 6 -> Fri 13; +3 = Mon 16; Thu 19 would be a third since Fri 13 -> Fri 20.
    assert _dates(plan) == [date(2026, 3, d) for d in (2, 6, 9, 13, 16, 20)]
    assert all(d.weekday() < 5 for d in _dates(plan))
    stored = db.get(TreatmentPlanRow, plan.plan_id)
    assert stored is not None
    assert stored.holidays == ["2026-03-05"]


def test_esketamine_plan_counts_devices(
    db: Session, ctx: RequestContext, doctor: RequestContext
) -> None:
    pid = _screened(db, ctx, "esketamine-intranasal")
    plan = planning.create_plan(db, doctor, pid, "esketamine-trd", date(2026, 3, 3))
    # Label: 56 mg on day 1 = two 28 mg devices, five minutes apart.
    assert plan.first_dose.dose_mg == 56
    assert plan.first_dose.devices == 2
    assert plan.first_dose.device_offsets_min == (0, 5)
    assert len(_dates(plan)) == 12  # 8 induction + 4 in weeks 5-8


def test_a_contraindicated_plan_is_refused_until_a_prescriber_overrides(
    db: Session, ctx: RequestContext, doctor: RequestContext
) -> None:
    pid = _screened(db, ctx, failed_trials=1)
    with pytest.raises(OverrideRequired) as refused:
        planning.create_plan(db, doctor, pid, IV3, WED_4_MARCH)
    assert refused.value.rule_ids == ["treatment-resistance"]
    assert db.scalar(select(func.count()).select_from(TreatmentPlanRow)) == 0

    latest = screening.latest_screening(db, ctx, pid, "racemic-iv-im")
    assert latest is not None
    screening.override_screening(
        db, doctor, latest.screening_id, ["treatment-resistance"], "Intolerant of two others."
    )
    plan = planning.create_plan(db, doctor, pid, IV3, WED_4_MARCH)
    assert plan.screening_id != latest.screening_id  # planned on the re-decided screening


def test_planning_needs_a_complete_screening_of_the_right_treatment(
    db: Session, ctx: RequestContext, doctor: RequestContext
) -> None:
    pid = make_known_patient(db, ctx)
    with pytest.raises(RuleViolation, match="not been screened"):
        planning.create_plan(db, doctor, pid, IV3, WED_4_MARCH)
    screening.screen_patient(db, ctx, pid, "racemic-iv-im")  # urinary, liver, STOP-BANG unknown
    with pytest.raises(RuleViolation, match="incomplete"):
        planning.create_plan(db, doctor, pid, IV3, WED_4_MARCH)
    with pytest.raises(PermissionDenied):
        planning.create_plan(db, ctx, pid, IV3, WED_4_MARCH)
    with pytest.raises(InvalidInput, match="Unknown protocol"):
        planning.create_plan(db, doctor, pid, "iv-racemic-daily", WED_4_MARCH)


def test_a_dose_above_the_limit_needs_a_reasoned_override(
    db: Session, ctx: RequestContext, doctor: RequestContext
) -> None:
    pid = _screened(db, ctx)
    high = {"dose_mg_per_kg": 1.2}
    with pytest.raises(OverrideRequired) as refused:
        planning.create_plan(db, doctor, pid, IV3, WED_4_MARCH, dose=high)
    assert refused.value.rule_ids == ["max-mg-per-kg"]
    with pytest.raises(InvalidInput):
        planning.create_plan(
            db,
            doctor,
            pid,
            IV3,
            WED_4_MARCH,
            dose=high,
            limit_override={"limit_ids": ["max-mg-per-kg"], "reason": "  "},
        )
    with pytest.raises(InvalidInput, match="within every limit"):
        planning.create_plan(
            db,
            doctor,
            pid,
            IV3,
            WED_4_MARCH,
            limit_override={"limit_ids": ["max-mg-per-kg"], "reason": "not needed"},
        )
    reason = "Partial response at 1.0 mg/kg, well tolerated; anaesthetist present."
    plan = planning.create_plan(
        db,
        doctor,
        pid,
        IV3,
        WED_4_MARCH,
        dose=high,
        limit_override={"limit_ids": ["max-mg-per-kg"], "reason": reason},
    )
    db.commit()
    assert plan.first_dose.dose_mg == 96.0  # 80 kg x 1.2 mg/kg
    stored = db.scalars(select(DoseLimitOverrideRow)).one()
    assert stored.reason == reason
    assert stored.prescriber_name == "Dr Sam Okafor"
    assert stored.overridden_at == doctor.now
    assert plan.dose_overrides[0].limit_ids == ("max-mg-per-kg",)


def test_signing_freezes_and_amending_makes_a_new_version(
    db: Session, ctx: RequestContext, doctor: RequestContext
) -> None:
    pid = _screened(db, ctx)
    draft = planning.create_plan(db, doctor, pid, IV3, WED_4_MARCH)
    with pytest.raises(RuleViolation, match="sign it first"):
        plan_calendar.mark_missed(db, ctx, draft.plan_id, 0, today=WED_4_MARCH)
    with pytest.raises(PermissionDenied):
        planning.sign_plan(db, ctx, draft.plan_id)
    signed = planning.sign_plan(db, doctor, draft.plan_id)
    assert (signed.status, signed.signed_by, signed.signed_at) == (
        "signed",
        "Dr Sam Okafor",
        doctor.now,
    )
    with pytest.raises(RuleViolation):
        planning.sign_plan(db, doctor, draft.plan_id)
    with pytest.raises(InvalidInput):
        planning.amend_plan(db, doctor, draft.plan_id, "", dose={"dose_mg_per_kg": 0.75})

    amended = planning.amend_plan(
        db, doctor, draft.plan_id, "No response at 0.5 mg/kg", dose={"dose_mg_per_kg": 0.75}
    )
    assert (amended.version, amended.status, amended.previous_version_id) == (
        2,
        "draft",
        draft.plan_id,
    )
    assert amended.first_dose.dose_mg == 60.0  # 80 kg x 0.75 mg/kg
    old = planning.get_plan(db, ctx, draft.plan_id)
    assert old.status == "superseded"
    assert {s.status for s in old.sessions} == {"cancelled"}
    assert len(planning.list_plans(db, ctx, pid)) == 2


def test_a_failing_amendment_leaves_the_signed_plan_untouched(
    db: Session, ctx: RequestContext, doctor: RequestContext
) -> None:
    pid = _screened(db, ctx)
    plan = planning.create_plan(db, doctor, pid, IV3, WED_4_MARCH)
    planning.sign_plan(db, doctor, plan.plan_id)
    db.commit()
    audit_before = db.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(OverrideRequired):
        planning.amend_plan(db, doctor, plan.plan_id, "try 1.5", dose={"dose_mg_per_kg": 1.5})
    db.commit()
    again = planning.get_plan(db, ctx, plan.plan_id)
    assert again.status == "signed"
    assert len(_dates(again)) == 6
    assert db.scalar(select(func.count()).select_from(TreatmentPlanRow)) == 1
    # Only the read just made was added to the trail.
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == audit_before + 1


def test_a_missed_session_moves_the_rest_and_keeps_the_history(
    db: Session, ctx: RequestContext, doctor: RequestContext
) -> None:
    pid = _screened(db, ctx)
    plan = planning.create_plan(db, doctor, pid, IV3, WED_4_MARCH)
    planning.sign_plan(db, doctor, plan.plan_id)
    on_wed = context(now=ctx.now.replace(day=4))
    active = plan_calendar.mark_done(db, on_wed, plan.plan_id, 0)
    assert active.status == "active"

    # Friday 6 March missed, noticed on Saturday: the rest move on from Monday 9.
    moved = plan_calendar.mark_missed(
        db, context(now=ctx.now.replace(day=7)), plan.plan_id, 1, today=date(2026, 3, 7)
    )
    db.commit()
    assert _dates(moved, "done") == [date(2026, 3, 4)]
    assert _dates(moved, "missed") == [date(2026, 3, 6)]
    assert _dates(moved, "rescheduled") == [date(2026, 3, d) for d in (9, 11, 13, 16)]
    assert _dates(moved) == [date(2026, 3, d) for d in (9, 11, 13, 16, 18)]
    replacements = [s for s in moved.sessions if s.status == "planned"]
    assert [s.replaces_sequence for s in replacements] == [1, 2, 3, 4, 5]
    assert [s.number_in_phase for s in replacements] == [2, 3, 4, 5, 6]
    assert [s.scheduled_on for s in moved.review_points] == [date(2026, 3, 18)]
    reread = planning.get_plan(db, ctx, plan.plan_id)
    assert reread.sessions == moved.sessions
    with pytest.raises(InvalidInput, match="already missed"):
        plan_calendar.mark_missed(db, ctx, plan.plan_id, 1, today=date(2026, 3, 7))


def test_each_session_is_dosed_on_the_weight_closest_to_it(
    db: Session, ctx: RequestContext, doctor: RequestContext
) -> None:
    pid = _screened(db, ctx)
    plan = planning.create_plan(db, doctor, pid, IV3, WED_4_MARCH)
    planning.sign_plan(db, doctor, plan.plan_id)
    on_tuesday = context(now=ctx.now.replace(day=10))
    patients.record_vital(db, on_tuesday, pid, "weight_kg", 84.0, on_tuesday.now)

    first = plan_calendar.session_dose(db, ctx, plan.plan_id, 0)
    fourth = plan_calendar.session_dose(db, ctx, plan.plan_id, 3)  # Wednesday 11 March
    assert (first.actual_weight_kg, first.dose_mg) == (80.0, 40.0)
    assert (fourth.actual_weight_kg, fourth.dose_mg, fourth.volume_ml) == (84.0, 42.0, 4.2)
    interval = next(c for c in fourth.limit_checks if c.id == "min-interval-days")
    assert interval.value == 2  # Mon 9 to Wed 11


def test_stopping_cancels_what_is_left(
    db: Session, ctx: RequestContext, doctor: RequestContext
) -> None:
    pid = _screened(db, ctx)
    plan = planning.create_plan(db, doctor, pid, IV3, WED_4_MARCH)
    with pytest.raises(InvalidInput):
        planning.stop_plan(db, doctor, plan.plan_id, " ")
    stopped = planning.stop_plan(db, doctor, plan.plan_id, "Patient moved away")
    assert stopped.status == "stopped"
    assert stopped.stopped_reason == "Patient moved away"
    assert _dates(stopped, "cancelled") == [date(2026, 3, d) for d in (4, 6, 9, 11, 13, 16)]


def test_amending_a_course_under_way_keeps_the_remaining_dates(
    db: Session, ctx: RequestContext, doctor: RequestContext
) -> None:
    pid = _screened(db, ctx)
    plan = planning.create_plan(db, doctor, pid, IV3, WED_4_MARCH)
    planning.sign_plan(db, doctor, plan.plan_id)
    for day, sequence in ((4, 0), (6, 1)):
        plan_calendar.mark_done(db, context(now=ctx.now.replace(day=day)), plan.plan_id, sequence)
    saturday = context(PRESCRIBER, ctx.now.replace(day=7))
    with pytest.raises(InvalidInput, match="remaining dates are kept"):
        planning.amend_plan(db, saturday, plan.plan_id, "move", start_date=date(2026, 3, 10))

    amended = planning.amend_plan(
        db,
        saturday,
        plan.plan_id,
        "Response at session 2 is partial; step up and continue weekly afterwards.",
        dose={"dose_mg_per_kg": 0.75},
        maintenance_option="weekly-x4",
    )
    # Induction sessions 3-6 keep their dates; weekly maintenance follows a week after Mon 16.
    assert _dates(amended) == [date(2026, 3, d) for d in (9, 11, 13, 16, 23, 30)] + [
        date(2026, 4, 6),
        date(2026, 4, 13),
    ]
    assert [s.number_in_phase for s in amended.sessions][:4] == [3, 4, 5, 6]
    assert [s.scheduled_on for s in amended.review_points] == [
        date(2026, 3, 16),
        date(2026, 4, 13),
    ]
    assert amended.first_dose.dose_mg == 60.0  # 80 kg x 0.75 mg/kg
    interval = next(c for c in amended.first_dose.limit_checks if c.id == "min-interval-days")
    assert interval.value == 3  # last given Fri 6, next Mon 9
    old = planning.get_plan(db, ctx, plan.plan_id)
    assert _dates(old, "done") == [date(2026, 3, 4), date(2026, 3, 6)]
    assert old.status == "superseded"


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(st.tuples(st.booleans(), st.integers(0, 3)), min_size=1, max_size=8),
    start_offset_days=st.integers(0, 6),
)
def test_any_run_of_given_and_missed_sessions_keeps_a_valid_calendar(
    db: Session,
    ctx: RequestContext,
    doctor: RequestContext,
    steps: list[tuple[bool, int]],
    start_offset_days: int,
) -> None:
    pid = _screened(db, ctx)
    start = date(2026, 3, 2) + timedelta(days=start_offset_days)
    plan = planning.create_plan(db, doctor, pid, IV3, start)
    planning.sign_plan(db, doctor, plan.plan_id)
    for attended, late_days in steps:
        pending = [s for s in plan.sessions if s.status == "planned"]
        if not pending:
            break
        session = pending[0]
        when = ctx.now.replace(
            year=session.scheduled_on.year,
            month=session.scheduled_on.month,
            day=session.scheduled_on.day,
        ) + timedelta(days=late_days)
        if attended:
            plan = plan_calendar.mark_done(db, context(now=when), plan.plan_id, session.sequence)
        else:
            plan = plan_calendar.mark_missed(
                db, context(now=when), plan.plan_id, session.sequence, today=when.date()
            )
    course = [s for s in plan.sessions if s.status in ("planned", "done")]
    days = [s.scheduled_on for s in course]
    # Still six induction sessions, in order, each number once, ending on the review point.
    assert [s.number_in_phase for s in course] == [1, 2, 3, 4, 5, 6]
    assert course[-1].review_action is not None
    assert all(d.weekday() < 5 for d in days)
    assert all((b - a).days >= 2 for a, b in itertools.pairwise(days))
    assert all(sum(1 for d in days if a <= d < a + timedelta(days=7)) <= 3 for a in days)
    # Every moved row has exactly one replacement pointing at it; nothing was rewritten.
    moved = {s.sequence for s in plan.sessions if s.status in ("rescheduled", "missed")}
    replaced = [s.replaces_sequence for s in plan.sessions if s.replaces_sequence is not None]
    assert sorted(replaced) == sorted(moved)
    assert plan == planning.get_plan(db, ctx, plan.plan_id)


def test_eu_profile_starts_patients_65_and_over_on_one_device(
    db: Session, ctx: RequestContext, doctor: RequestContext
) -> None:
    pid = make_known_patient(db, ctx, sex="F", date_of_birth="1958-06-20")  # 67 on 2 March 2026
    statements = {**STATED_ALL_CLEAR, "pregnant": False, "breastfeeding": False}
    screening.screen_patient(db, ctx, pid, "esketamine-intranasal", statements)
    with pytest.raises(InvalidInput, match="no regional profile"):
        planning.create_plan(
            db, doctor, pid, "esketamine-trd", date(2026, 3, 2), dose={"regional_profile": "uk"}
        )
    plan = planning.create_plan(
        db,
        doctor,
        pid,
        "esketamine-trd",
        date(2026, 3, 2),
        dose={"regional_profile": "eu-65-and-over"},
    )
    # EU SmPC: 28 mg on day 1 (one device); later sessions take the label's 56 mg (two devices).
    assert (plan.first_dose.dose_mg, plan.first_dose.devices) == (28, 1)
    planning.sign_plan(db, doctor, plan.plan_id)
    plan_calendar.mark_done(db, ctx, plan.plan_id, 0)
    second = plan_calendar.session_dose(db, ctx, plan.plan_id, 1)
    assert (second.dose_mg, second.devices, second.device_offsets_min) == (56, 2, (0, 5))
    assert second.regional_profile == "eu-65-and-over"
