"""Session calendars: weekends, holidays, minimum intervals, missed sessions, review points."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketaclinic.clinical.eligibility import EligibilityDecision, ScreeningInput, screen
from ketaclinic.clinical.overrides import Override
from ketaclinic.clinical.protocols import all_protocols, get_protocol
from ketaclinic.clinical.scheduling import (
    PlannedSession,
    build_schedule,
    create_plan,
    reschedule_after_missed,
)
from ketaclinic.errors import InvalidInput, OverrideRequired, RuleViolation

MONDAY = date(2026, 3, 2)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "screening"


def _dates(schedule: list[PlannedSession]) -> list[date]:
    return [s.on for s in schedule if s.status == "planned"]


def test_thrice_weekly_is_mon_wed_fri_six_in_twelve_days() -> None:
    # Murrough 2013: 6 infusions over 12 days.
    schedule = build_schedule(get_protocol("iv-racemic-thrice-weekly"), MONDAY)
    assert [s.weekday for s in schedule] == ["Mon", "Wed", "Fri", "Mon", "Wed", "Fri"]
    assert (schedule[-1].on - schedule[0].on).days == 11
    assert schedule[-1].review_action is not None
    assert all(s.review_action is None for s in schedule[:-1])


def test_twice_weekly_runs_three_weeks() -> None:
    schedule = build_schedule(get_protocol("iv-racemic-twice-weekly"), MONDAY)
    assert [s.weekday for s in schedule] == ["Mon", "Thu"] * 3
    assert schedule[-1].on == MONDAY + timedelta(days=17)


def test_start_on_a_saturday_moves_to_monday() -> None:
    schedule = build_schedule(get_protocol("iv-racemic-thrice-weekly"), date(2026, 3, 7))
    assert schedule[0].on == date(2026, 3, 9)


def test_holiday_is_skipped_without_breaking_the_interval() -> None:
    holiday = MONDAY + timedelta(days=2)  # the Wednesday
    schedule = build_schedule(get_protocol("iv-racemic-thrice-weekly"), MONDAY, holidays=[holiday])
    assert holiday not in _dates(schedule)
    assert schedule[1].on == MONDAY + timedelta(days=3)  # Thursday
    gaps = [(b - a).days for a, b in zip(_dates(schedule), _dates(schedule)[1:], strict=False)]
    assert min(gaps) >= 2


def test_esketamine_label_phases_and_review_at_end_of_induction() -> None:
    protocol = get_protocol("esketamine-trd")
    schedule = build_schedule(protocol, MONDAY, maintenance_option="every-two-weeks")
    induction = [s for s in schedule if s.phase_id == "induction"]
    weeks_5_8 = [s for s in schedule if s.phase_id == "maintenance-weeks-5-8"]
    fortnightly = [s for s in schedule if s.phase_id == "every-two-weeks"]
    assert len(induction) == 8
    # Twice weekly for weeks 1-4: all eight inside the first 28 days.
    assert induction[-1].on < MONDAY + timedelta(days=28)
    assert "induction" in (induction[-1].review_action or "")
    assert [(b.on - a.on).days for a, b in itertools.pairwise(weeks_5_8)] == [7, 7, 7]
    assert [(b.on - a.on).days for a, b in itertools.pairwise(fortnightly)] == [
        14,
        14,
        14,
    ]


def test_unknown_maintenance_option_is_refused() -> None:
    with pytest.raises(InvalidInput, match="weekly-x4"):
        build_schedule(get_protocol("iv-racemic-thrice-weekly"), MONDAY, maintenance_option="daily")


def test_missed_session_is_kept_and_the_rest_move() -> None:
    schedule = build_schedule(get_protocol("iv-racemic-thrice-weekly"), MONDAY)
    friday = schedule[2].on
    moved = reschedule_after_missed(schedule, 2, today=friday + timedelta(days=1))  # Saturday
    assert moved[2].status == "missed"
    assert moved[2].on == friday
    replacement = moved[3]
    assert replacement.replaces_index == 2
    assert replacement.on == date(2026, 3, 9)  # the next Monday
    assert len([s for s in moved if s.status == "planned"]) == 6
    assert moved[-1].review_action is not None


def test_missed_session_respects_the_interval_from_the_last_attended() -> None:
    schedule = build_schedule(get_protocol("iv-racemic-thrice-weekly"), MONDAY)
    # Wednesday's session missed and noticed the same day: Monday was the last one given,
    # so the replacement cannot be earlier than Wednesday itself.
    moved = reschedule_after_missed(schedule, 1, today=schedule[1].on)
    assert moved[2].on >= schedule[0].on + timedelta(days=2)


def test_missed_index_and_date_are_checked() -> None:
    schedule = build_schedule(get_protocol("iv-racemic-thrice-weekly"), MONDAY)
    with pytest.raises(InvalidInput, match="does not exist"):
        reschedule_after_missed(schedule, 9, today=MONDAY)
    with pytest.raises(InvalidInput, match="cannot be missed"):
        reschedule_after_missed(schedule, 3, today=MONDAY)
    moved = reschedule_after_missed(schedule, 0, today=MONDAY)
    with pytest.raises(InvalidInput, match="already marked missed"):
        reschedule_after_missed(moved, 0, today=MONDAY)


def test_clinic_days_must_be_valid() -> None:
    with pytest.raises(InvalidInput, match="weekday numbers"):
        build_schedule(get_protocol("im-racemic"), MONDAY, clinic_days=[])


def _check_schedule(
    schedule: list[PlannedSession], clinic_days: set[int], holidays: set[date], minimum: int
) -> None:
    dates = _dates(schedule)
    assert dates == sorted(dates)
    for day in dates:
        assert day.weekday() in clinic_days
        assert day not in holidays
    for earlier, later in itertools.pairwise(dates):
        assert (later - earlier).days >= minimum
    for session in schedule:
        if session.sessions_per_week >= 1:
            week = [d for d in dates if session.on - timedelta(days=6) <= d <= session.on]
            assert len(week) <= int(-(-session.sessions_per_week // 1))


@settings(max_examples=60, deadline=None)
@given(
    protocol_index=st.integers(min_value=0, max_value=len(all_protocols()) - 1),
    start=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)),
    clinic_days=st.sets(st.integers(min_value=0, max_value=6), min_size=1),
    holiday_offsets=st.sets(st.integers(min_value=0, max_value=120), max_size=10),
    missed=st.integers(min_value=0, max_value=5),
    late_days=st.integers(min_value=0, max_value=10),
)
def test_schedules_never_break_interval_or_land_on_a_closed_day(
    protocol_index: int,
    start: date,
    clinic_days: set[int],
    holiday_offsets: set[int],
    missed: int,
    late_days: int,
) -> None:
    protocol = all_protocols()[protocol_index]
    holidays = {start + timedelta(days=o) for o in holiday_offsets}
    option = protocol.maintenance_options[0].id if protocol.maintenance_options else None
    schedule = build_schedule(protocol, start, clinic_days, holidays, maintenance_option=option)
    _check_schedule(schedule, clinic_days, holidays, protocol.limits.min_interval_days)
    today = schedule[missed].on + timedelta(days=late_days)
    moved = reschedule_after_missed(schedule, missed, today, clinic_days, holidays)
    _check_schedule(moved, clinic_days, holidays, protocol.limits.min_interval_days)
    assert len(_dates(moved)) == len(schedule)


def _decision(path: str, overrides: list[Override] | None = None) -> EligibilityDecision:
    raw = json.loads((EXAMPLES / path).read_text(encoding="utf-8"))
    raw.pop("overrides", None)
    return screen(ScreeningInput.model_validate(raw), overrides or [])


def test_plan_ties_patient_protocol_prescriber_and_marks_reviews() -> None:
    plan = create_plan(
        patient_id="p-001",
        protocol=get_protocol("esketamine-trd"),
        prescriber_id="dr-okafor",
        start_date=MONDAY,
        decision=_decision("with-conditions-esketamine.json"),
        maintenance_option="weekly",
    )
    assert plan.sessions[0].on == MONDAY
    assert len(plan.sessions) == 16
    assert [s.phase_id for s in plan.review_points] == ["induction", "weekly"]
    assert plan.screening_decision == "eligible-with-conditions"


def test_plan_refused_while_contraindicated_then_allowed_with_override() -> None:
    protocol = get_protocol("esketamine-trd")
    with pytest.raises(OverrideRequired) as refused:
        create_plan(
            patient_id="p-002",
            protocol=protocol,
            prescriber_id="dr-okafor",
            start_date=MONDAY,
            decision=_decision("not-eligible-esketamine.json"),
        )
    assert refused.value.rule_ids == ["esketamine-vascular"]
    override = Override.create(
        rule_ids=["esketamine-vascular"],
        reason="Remote ICH 1998; neurology agrees; ECT failed.",
        prescriber_id="dr-okafor",
        overridden_at=datetime(2026, 3, 1, 17, tzinfo=UTC),
    )
    plan = create_plan(
        patient_id="p-002",
        protocol=protocol,
        prescriber_id="dr-okafor",
        start_date=MONDAY,
        decision=_decision("not-eligible-esketamine.json", [override]),
    )
    assert plan.overrides == (override,)


def test_plan_refused_when_screening_is_incomplete_or_for_another_treatment() -> None:
    with pytest.raises(RuleViolation, match="incomplete"):
        create_plan(
            patient_id="p-003",
            protocol=get_protocol("iv-racemic-thrice-weekly"),
            prescriber_id="dr",
            start_date=MONDAY,
            decision=_decision("more-information-iv.json"),
        )
    with pytest.raises(InvalidInput, match="does not cover"):
        create_plan(
            patient_id="p-004",
            protocol=get_protocol("esketamine-trd"),
            prescriber_id="dr",
            start_date=MONDAY,
            decision=_decision("eligible-iv.json"),
        )
