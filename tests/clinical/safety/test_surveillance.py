"""Course surveillance: bladder screens, misuse signals, suicide screens."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ketaclinic.clinical.policy import default_policy
from ketaclinic.clinical.safety.surveillance import (
    BladderScreen,
    MisuseSignal,
    bladder_screen_due,
    evaluate_bladder_screen,
    misuse_flags,
    misuse_signal_kinds,
    suicide_screen_outcome,
)
from ketaclinic.clinical.safety.tasks import FlagKind, TaskKind
from ketaclinic.errors import InvalidInput

POLICY = default_policy("iv-racemic")
DAY = datetime(2026, 4, 6, 10, 0, tzinfo=UTC)


def test_bladder_screen_schedule_in_maintenance_only() -> None:
    assert bladder_screen_due("induction", None, POLICY, now=DAY) is None
    assert bladder_screen_due("maintenance", None, POLICY, now=DAY) == DAY
    start = DAY - timedelta(days=3)
    assert (
        bladder_screen_due("maintenance", None, POLICY, now=DAY, maintenance_started_at=start)
        == start
    )
    # Default interval 28 days (unverified design default).
    assert bladder_screen_due("maintenance", DAY, POLICY, now=DAY) == DAY + timedelta(days=28)


def test_same_symptoms_do_not_flag_new_ones_do() -> None:
    before = BladderScreen(taken_at=DAY - timedelta(days=28), symptoms=frozenset({"nocturia"}))
    same = BladderScreen(taken_at=DAY, symptoms=frozenset({"nocturia"}))
    assert evaluate_bladder_screen("P-1", same, before, POLICY).flags == []
    fewer = BladderScreen(taken_at=DAY, symptoms=frozenset())
    assert evaluate_bladder_screen("P-1", fewer, before, POLICY).tasks == []
    worse = BladderScreen(taken_at=DAY, symptoms=frozenset({"nocturia", "urgency", "dysuria"}))
    outcome = evaluate_bladder_screen("P-1", worse, before, POLICY, prescriber="Dr O")
    assert [f.kind for f in outcome.flags] == [FlagKind.BLADDER_WORSENING]
    task = outcome.tasks[0]
    assert task.kind is TaskKind.BLADDER_REFERRAL
    assert task.assignee == "Dr O"
    assert task.due_at == DAY + timedelta(days=14)
    assert "sudden urge" in task.reason
    assert "pain or burning" in task.reason


def test_first_screen_with_symptoms_flags_and_red_flag_is_same_day() -> None:
    first = BladderScreen(taken_at=DAY, symptoms=frozenset({"frequency"}))
    assert evaluate_bladder_screen("P-1", first, None, POLICY).flags
    blood = BladderScreen(taken_at=DAY, symptoms=frozenset({"haematuria"}))
    previous = BladderScreen(taken_at=DAY - timedelta(days=28), symptoms=frozenset({"haematuria"}))
    outcome = evaluate_bladder_screen("P-1", blood, previous, POLICY)
    assert outcome.flags[0].severity == "urgent"
    assert outcome.tasks[0].due_at == datetime(2026, 4, 6, 23, 59, 59, tzinfo=UTC)


def test_bladder_input_errors() -> None:
    with pytest.raises(InvalidInput, match="Unknown bladder symptom"):
        evaluate_bladder_screen(
            "P-1", BladderScreen(taken_at=DAY, symptoms=frozenset({"itch"})), None, POLICY
        )
    later = BladderScreen(taken_at=DAY + timedelta(days=1))
    with pytest.raises(InvalidInput, match="later than"):
        evaluate_bladder_screen("P-1", BladderScreen(taken_at=DAY), later, POLICY)


def test_every_misuse_signal_raises_a_prescriber_flag() -> None:
    kinds = list(misuse_signal_kinds())
    assert set(kinds) == {
        "early-session-request",
        "extra-session-request",
        "dose-escalation-request",
        "positive-toxicology",
        "craving-reported",
        "missing-take-home-doses",
    }
    signals = [
        MisuseSignal(kind=k, at=DAY + timedelta(hours=i), detail=f"example {k}", recorded_by="RN")
        for i, k in enumerate(reversed(kinds))
    ]
    outcome = misuse_flags("P-1", signals, prescriber="Dr O")
    assert len(outcome.flags) == len(kinds)
    assert all(f.for_role == "prescriber" and not f.source.verified for f in outcome.flags)
    assert [f.raised_at for f in outcome.flags] == sorted(s.at for s in signals)
    assert outcome.tasks[0].kind is TaskKind.PRESCRIBER_MISUSE_REVIEW
    assert "6 signal(s)" in outcome.tasks[0].reason
    assert misuse_flags("P-1", []).flags == []
    with pytest.raises(InvalidInput, match="Unknown misuse signal"):
        misuse_flags("P-1", [MisuseSignal(kind="rude", at=DAY, detail="x y z", recorded_by="RN")])


@pytest.mark.parametrize(
    ("item9", "cssrs", "task"),
    [
        (0, "none", False),
        (1, "none", True),
        (0, "low", True),
        (0, "moderate", True),
        (0, "high", True),
        (None, None, False),
        (3, None, True),
    ],
)
def test_suicide_screen_same_day_task(item9: int | None, cssrs: str | None, task: bool) -> None:
    outcome = suicide_screen_outcome(
        "P-1",
        screened_at=DAY,
        phq9_item9=item9,
        cssrs_risk=cssrs,
        policy=POLICY,
        responsible_clinician="Dr O",
    )
    assert bool(outcome.tasks) is task
    if task:
        assert outcome.tasks[0].kind is TaskKind.SUICIDE_RISK_ASSESSMENT
        assert outcome.tasks[0].due_at == datetime(2026, 4, 6, 23, 59, 59, tzinfo=UTC)
        assert outcome.flags[0].severity == ("critical" if cssrs == "high" else "urgent")


def test_same_day_is_the_clinic_local_day() -> None:
    eastern = timezone(timedelta(hours=-5))
    late_evening = datetime(2026, 4, 6, 22, 0, tzinfo=eastern)  # 03:00 UTC on 7 April
    outcome = suicide_screen_outcome(
        "P-1",
        screened_at=late_evening,
        phq9_item9=2,
        cssrs_risk=None,
        policy=POLICY,
        responsible_clinician=None,
    )
    assert outcome.tasks[0].due_at == datetime(2026, 4, 6, 23, 59, 59, tzinfo=eastern)


@pytest.mark.parametrize(
    ("zone", "screened_at_utc", "clinic_day"),
    [
        # 19:30 in Los Angeles on 6 April is 02:30 UTC on 7 April: still the clinic's 6 April.
        ("America/Los_Angeles", datetime(2026, 4, 7, 2, 30, tzinfo=UTC), date(2026, 4, 6)),
        # 08:15 in Auckland on 7 April is 20:15 UTC on 6 April: already the clinic's 7 April.
        ("Pacific/Auckland", datetime(2026, 4, 6, 20, 15, tzinfo=UTC), date(2026, 4, 7)),
    ],
)
def test_same_day_ends_with_the_clinic_zone_s_day_for_a_utc_time(
    zone: str, screened_at_utc: datetime, clinic_day: date
) -> None:
    """Stored times are UTC; the service passes the clinic's zone, and "same day" is its day."""
    clinic_tz = ZoneInfo(zone)
    outcome = suicide_screen_outcome(
        "P-1", screened_at=screened_at_utc, phq9_item9=1, cssrs_risk=None, policy=POLICY,
        responsible_clinician=None, clinic_tz=clinic_tz,
    )  # fmt: skip
    due = outcome.tasks[0].due_at
    assert due == datetime.combine(clinic_day, time(23, 59, 59), tzinfo=clinic_tz)
    assert due > screened_at_utc
    without_zone = suicide_screen_outcome(
        "P-1", screened_at=screened_at_utc, phq9_item9=1, cssrs_risk=None, policy=POLICY,
        responsible_clinician=None,
    )  # fmt: skip
    assert without_zone.tasks[0].due_at.date() == screened_at_utc.date() != clinic_day


def test_suicide_screen_input_errors() -> None:
    with pytest.raises(InvalidInput, match="C-SSRS"):
        suicide_screen_outcome(
            "P",
            screened_at=DAY,
            phq9_item9=0,
            cssrs_risk="meh",
            policy=POLICY,
            responsible_clinician=None,
        )
    with pytest.raises(InvalidInput, match="0 to 3"):
        suicide_screen_outcome(
            "P",
            screened_at=DAY,
            phq9_item9=4,
            cssrs_risk=None,
            policy=POLICY,
            responsible_clinician=None,
        )
