"""Monitoring through the services: alerts open until acknowledged, discharge refused for each
unmet criterion, checkpoints at a given time, the Today list, and clinic threshold changes."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from session_services import (
    ESK,
    IV,
    RECOVERED,
    T0,
    at,
    audit_count,
    checked_in,
    dosing,
    monitoring,
    new_patient,
)
from sqlalchemy.orm import Session

from ketaclinic.clinical.policy import default_policy
from ketaclinic.clinical.sessions.alerts import Measures
from ketaclinic.errors import InvalidInput, PermissionDenied, RuleViolation
from ketaclinic.services import policy, session_today, sessions
from ketaclinic.services.context import Actor
from support.clinic import NURSE

ADMIN = Actor(user_id="user-admin-1", role="administrator", display_name="Ada Admin")


def test_an_alert_stays_open_until_a_clinician_acknowledges_it_with_a_note(db: Session) -> None:
    sid = monitoring(db, ESK)
    hypertensive = RECOVERED.model_copy(update={"systolic_mmhg": 190, "diastolic_mmhg": 112})
    _, raised = sessions.record_observation(db, at(55), sid, "high", hypertensive)
    rules = {a.finding.rule_id for a in raised}
    # 190/112 against 128/82: a rise of 62/30, and above the 180/100 intervention threshold.
    assert rules == {"bp-rise-over-baseline", "bp-above-intervention-threshold"}
    # The same rule does not open twice while open.
    _, again = sessions.record_observation(db, at(60), sid, "high-2", hypertensive)
    assert again == []
    for minute in (125, 134):
        sessions.record_observation(db, at(minute), sid, f"ok{minute}", RECOVERED)
    refused = sessions.discharge_assessment(db, at(135), sid, escort_present=True)
    assert [u.id for u in refused.unmet] == ["no-open-alert"]
    with pytest.raises(InvalidInput, match="note"):
        sessions.acknowledge_alert(db, at(136), sid, raised[0].id, note="")
    for alert in raised:
        sessions.acknowledge_alert(
            db, at(136), sid, alert.id, note="Rechecked after rest; prescriber informed."
        )
    with pytest.raises(RuleViolation, match="already acknowledged"):
        sessions.acknowledge_alert(db, at(137), sid, raised[0].id, note="twice")
    record = sessions.get_session(db, at(138), sid)
    assert record.open_alerts == []
    assert {a.acknowledgement.by for a in record.alerts if a.acknowledgement} == {
        NURSE.display_name
    }
    sessions.mark_ready(db, at(138), sid, escort_present=True)


@pytest.mark.parametrize(
    ("criterion", "minute", "escort", "reading"),
    [
        ("minimum-observation", 125, True, RECOVERED),
        ("escort-present", 140, False, RECOVERED),
        ("moaas-5", 140, True, RECOVERED.model_copy(update={"moaas": 4})),
        ("vitals-within-range", 140, True, RECOVERED.model_copy(update={"heart_rate_bpm": 100})),
        ("predischarge-bp", 160, True, RECOVERED),
    ],
)
def test_discharge_refused_for_each_unmet_criterion(
    db: Session, criterion: str, minute: int, escort: bool, reading: Measures
) -> None:
    sid = monitoring(db, ESK)
    sessions.record_observation(db, at(min(minute, 140) - 2), sid, "last", reading)
    assessment = sessions.discharge_assessment(db, at(minute), sid, escort_present=escort)
    assert [u.id for u in assessment.unmet] == [criterion]
    with pytest.raises(RuleViolation, match="Discharge criteria not met"):
        sessions.mark_ready(db, at(minute), sid, escort_present=escort)
    # Straight to discharge skips "ready": the state machine refuses it first.
    with pytest.raises(RuleViolation, match="cannot 'discharge'"):
        sessions.discharge(db, at(minute), sid, escort_present=escort)


def test_checkpoints_show_late_and_missed_readings(db: Session) -> None:
    sid = dosing(db, IV)  # infusion from 09:15; readings due every 10 minutes
    grace = default_policy(IV).number("checkpoint_grace_minutes")
    missed_after = default_policy(IV).number("checkpoint_missed_after_minutes")
    first_due = 25  # 09:25
    states = {
        p.checkpoint.id: p.state.value
        for p in session_today.checkpoints(db, at(first_due + grace + 1), sid)
    }
    assert states["vitals-during-1"] == "late"
    later = {
        p.checkpoint.id: p.state.value
        for p in session_today.checkpoints(db, at(first_due + missed_after + 1), sid)
    }
    assert later["vitals-during-1"] == "missed"
    assert later["rems-bp-predose"] == "done"


def test_a_nurse_charts_apnoea_and_desaturation_and_the_critical_alerts_open(
    db: Session,
) -> None:
    sid = monitoring(db, ESK)
    apnoea = Measures(respiratory_rate_per_min=0, spo2_percent=45, heart_rate_bpm=15)
    record, raised = sessions.record_observation(db, at(30), sid, "apnoea", apnoea)
    assert {a.finding.rule_id for a in raised} == {"respiratory-rate-low", "spo2-low"}
    assert {a.finding.severity for a in raised} == {"critical"}
    charted = next(o for o in record.observations if o.id == "apnoea")
    assert charted.measures == apnoea
    stored = sessions.get_session(db, at(31), sid)
    assert {a.finding.rule_id for a in stored.open_alerts} >= {"respiratory-rate-low", "spo2-low"}


def test_a_swapped_blood_pressure_is_refused_with_the_reason_and_nothing_written(
    db: Session,
) -> None:
    sid = monitoring(db, ESK)
    before = audit_count(db)
    swapped = Measures(systolic_mmhg=82, diastolic_mmhg=134)
    with pytest.raises(InvalidInput, match="swapped") as refused:
        sessions.record_observation(db, at(30), sid, "swapped", swapped)
    assert refused.value.field == "diastolic_mmhg"
    assert audit_count(db) == before
    assert all(o.id != "swapped" for o in sessions.get_session(db, at(31), sid).observations)


def test_today_lists_the_clinic_day_with_states_and_alerts(db: Session) -> None:
    running = monitoring(db, ESK)
    sessions.record_observation(
        db, at(40), running, "spo2", RECOVERED.model_copy(update={"spo2_percent": 86})
    )
    waiting = checked_in(db, IV)
    tomorrow = sessions.schedule_session(
        db, at(41), new_patient(db), IV, T0 + timedelta(days=1)
    ).session_id
    entries = {e.session_id: e for e in session_today.today_list(db, at(45), T0.date(), UTC)}
    assert set(entries) == {running, waiting}
    assert tomorrow not in entries
    assert entries[running].state == "monitoring"
    assert entries[running].open_alerts == 1
    assert entries[running].worst_open_severity is not None
    assert entries[waiting].state == "checked-in"
    assert entries[waiting].chair == "Chair 2"


def test_a_clinic_threshold_change_is_recorded_and_applied(db: Session) -> None:
    before = audit_count(db)
    change = policy.change_threshold(
        db, at(-120, ADMIN), IV, "bp_rise_systolic_mmhg", 30,
        reason="Medical director: older cohort, earlier review",
    )  # fmt: skip
    assert (change.previous_value, change.value, change.default_value) == (40, 30, 40)
    assert audit_count(db) == before + 1
    assert policy.clinic_policy(db, IV).number("bp_rise_systolic_mmhg") == 30
    assert policy.clinic_policy(db, ESK).number("bp_rise_systolic_mmhg") == 40
    sid = monitoring(db, IV)
    # 163 is a rise of 35 over 128: fires at the clinic's 30, would not at the label's 40.
    _, raised = sessions.record_observation(
        db, at(56), sid, "r", RECOVERED.model_copy(update={"systolic_mmhg": 163})
    )
    assert [a.finding.rule_id for a in raised] == ["bp-rise-over-baseline"]
    assert raised[0].finding.uses_clinic_override
    policy.change_threshold(
        db, at(57, ADMIN), IV, "bp_rise_systolic_mmhg", None, reason="Back to label", revert=True
    )
    assert policy.clinic_policy(db, IV).number("bp_rise_systolic_mmhg") == 40
    assert [c.reason for c in policy.policy_history(db, IV)] == [
        "Medical director: older cohort, earlier review",
        "Back to label",
    ]


def test_threshold_changes_that_would_weaken_rems_or_come_from_staff_are_refused(
    db: Session,
) -> None:
    with pytest.raises(RuleViolation, match="protected for esketamine"):
        policy.change_threshold(
            db, at(0, ADMIN), ESK, "min_observation_minutes", 90, reason="Shorter visits please"
        )
    with pytest.raises(InvalidInput, match="outside the accepted range"):
        policy.change_threshold(db, at(0, ADMIN), IV, "spo2_low_percent", 40, reason="typo test")
    with pytest.raises(PermissionDenied):
        policy.change_threshold(db, at(0), IV, "spo2_low_percent", 92, reason="nurse tried")
    with pytest.raises(InvalidInput, match="why"):
        policy.change_threshold(db, at(0, ADMIN), IV, "spo2_low_percent", 92, reason="")
    assert policy.policy_history(db) == []
