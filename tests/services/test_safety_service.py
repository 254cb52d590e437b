"""Safety across a course through the service: adverse events with their tasks and flags,
bladder screens, misuse signals and the same-day risk assessment after a positive screen."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from session_services import ESK, IV, T0, at, audit_count, checked_in, monitoring, new_patient
from sqlalchemy.orm import Session

from ketaclinic.clinical.policy import default_policy
from ketaclinic.errors import InvalidInput, RuleViolation
from ketaclinic.services import measurement, safety, safety_tasks, sessions
from support.clinic import PRESCRIBER


def event(patient_id: str, session_id: str | None, **changes: Any) -> dict[str, Any]:
    return {
        "patient_id": patient_id,
        "session_id": session_id,
        "verbatim_term": "felt very floaty and detached",
        "term_id": "dissociation",
        "onset_at": T0 + timedelta(minutes=30),
        "severity": "moderate",
        "relatedness": "probable",
        "action_taken": "dose-not-changed",
        "outcome": "recovering",
    } | changes


def test_a_serious_event_creates_review_and_reporting_tasks(db: Session) -> None:
    sid = monitoring(db, ESK)
    pid = sessions.get_session(db, at(40), sid).patient_id
    data = event(
        pid, sid, verbatim_term="chest pain, admitted overnight", term_id="other",
        seriousness=["hospitalisation"], severity="severe", outcome="recovered",
        resolved_at=T0 + timedelta(hours=20),
    )  # fmt: skip
    outcome = safety.record_adverse_event_for(db, at(45), data)
    assert len(outcome.task_ids) == 2
    assert len(outcome.flag_ids) == 1
    tasks = {t.kind: t for t in safety.open_tasks(db, patient_id=pid)}
    report_days = default_policy(ESK).number("serious_event_report_due_days")
    assert tasks["serious-ae-report"].due_at == at(45).now + timedelta(days=report_days)
    assert "SPRAVATO REMS Patient Monitoring Form" in tasks["serious-ae-report"].reason
    # Same day: the last second of the recording day.
    review = tasks["serious-ae-medical-review"]
    assert (review.due_at.date(), review.due_at.hour) == (T0.date(), 23)
    assert {t.assignee for t in tasks.values()} == {PRESCRIBER.display_name}
    [stored] = safety.adverse_events(db, session_id=sid)
    assert stored.is_serious
    assert stored.seriousness == ("hospitalisation",)


def test_a_non_serious_event_creates_no_task(db: Session) -> None:
    sid = monitoring(db, IV)
    pid = sessions.get_session(db, at(60), sid).patient_id
    outcome = safety.record_adverse_event_for(db, at(61), event(pid, sid))
    assert outcome.task_ids == ()
    assert safety.open_tasks(db, patient_id=pid) == []


def test_an_unknown_term_is_refused_and_nothing_is_stored(db: Session) -> None:
    pid = new_patient(db)
    before = audit_count(db)
    with pytest.raises(InvalidInput, match="term_id 'spaced out' is not one of: dissociation"):
        safety.record_adverse_event_for(db, at(1), event(pid, None, term_id="spaced out"))
    assert safety.adverse_events(db, patient_id=pid) == []
    assert audit_count(db) == before


def test_bladder_screen_flags_new_symptoms_and_same_day_for_blood(db: Session) -> None:
    pid = new_patient(db)
    quiet = safety.record_bladder_screen(db, at(0), pid, [])
    assert quiet.flag_ids == ()
    worse = safety.record_bladder_screen(db, at(28 * 24 * 60), pid, ["frequency", "urgency"])
    assert len(worse.flag_ids) == 1
    [referral] = safety.open_tasks(db, patient_id=pid)
    referral_days = default_policy(IV).number("bladder_referral_due_days")
    assert referral.due_at == at(28 * 24 * 60).now + timedelta(days=referral_days)
    same = safety.record_bladder_screen(db, at(56 * 24 * 60), pid, ["frequency", "urgency"])
    assert same.flag_ids == ()  # unchanged symptoms, no red flag: no new flag
    blood = safety.record_bladder_screen(db, at(57 * 24 * 60), pid, ["haematuria"])
    [flag] = [f for f in safety.open_flags(db, patient_id=pid) if f.id in blood.flag_ids]
    assert flag.severity == "urgent"
    due = next(t for t in safety.open_tasks(db, patient_id=pid) if t.id in blood.task_ids).due_at
    assert due.date() == at(57 * 24 * 60).now.date()
    with pytest.raises(InvalidInput, match="Unknown bladder symptom"):
        safety.record_bladder_screen(db, at(58 * 24 * 60), pid, ["leaky"])


def test_bladder_screen_schedule_in_maintenance(db: Session) -> None:
    pid = new_patient(db)
    interval = default_policy(IV).number("bladder_screen_interval_days")
    assert safety.next_bladder_screen(db, at(0), pid, "induction") is None
    start = T0 + timedelta(days=30)
    assert (
        safety.next_bladder_screen(db, at(0), pid, "maintenance", maintenance_started_at=start)
        == start
    )
    safety.record_bladder_screen(db, at(10), pid, [])
    assert safety.next_bladder_screen(db, at(20), pid, "maintenance") == at(10).now + timedelta(
        days=interval
    )


def test_a_misuse_signal_flags_the_prescriber(db: Session) -> None:
    pid = new_patient(db)
    outcome = safety.record_misuse_signal(
        db, at(5), pid, "early-session-request", "Asked to move Thursday's session to Monday."
    )
    [flag] = safety.open_flags(db, patient_id=pid)
    assert flag.id in outcome.flag_ids
    assert flag.for_role == "prescriber"
    [task] = safety.open_tasks(db, patient_id=pid)
    assert task.kind == "prescriber-misuse-review"
    with pytest.raises(InvalidInput, match="Unknown misuse signal"):
        safety.record_misuse_signal(db, at(6), pid, "asked nicely", "details here")


def test_a_positive_phq9_item9_creates_one_same_day_risk_assessment(db: Session) -> None:
    pid = new_patient(db)
    answers = {f"q{i}": 1 for i in range(1, 10)}
    measurement.record_questionnaire_response(db, at(0), pid, "phq9", answers)
    [task] = safety.open_tasks(db, patient_id=pid)
    assert task.kind == "suicide-risk-assessment"
    assert task.due_at.date() == T0.date()
    # The same answer charted again in the session the same day adds no second task.
    sid = checked_in(db, IV, pid)
    sessions.record_observation(db, at(7), sid, "phq", {"phq9_item9": 1})
    assert [t.kind for t in safety.open_tasks(db, patient_id=pid)] == ["suicide-risk-assessment"]
    negative = new_patient(db, given_name="Casey")
    clear = {f"q{i}": 0 for i in range(1, 10)}
    measurement.record_questionnaire_response(db, at(1), negative, "phq9", clear)
    assert safety.open_tasks(db, patient_id=negative) == []


def test_a_positive_cssrs_in_session_alerts_and_creates_the_task(db: Session) -> None:
    sid = checked_in(db, IV)
    _, alerts = sessions.record_observation(db, at(7), sid, "cssrs", {"cssrs_risk": "moderate"})
    assert [a.finding.rule_id for a in alerts] == ["suicide-screen-cssrs"]
    pid = sessions.get_session(db, at(8), sid).patient_id
    [task] = safety.open_tasks(db, patient_id=pid)
    assert "C-SSRS screener risk moderate" in task.reason


def test_tasks_are_completed_and_flags_resolved_with_a_note(db: Session) -> None:
    pid = new_patient(db)
    outcome = safety.record_misuse_signal(db, at(5), pid, "craving-reported", "Reports craving.")
    safety_tasks.complete_task(
        db, at(6, PRESCRIBER), outcome.task_ids[0], note="Discussed; plan kept."
    )
    safety_tasks.resolve_flag(
        db, at(7, PRESCRIBER), outcome.flag_ids[0], note="Reviewed in clinic."
    )
    assert safety.open_tasks(db, patient_id=pid) == []
    assert safety.open_flags(db, patient_id=pid) == []
    with pytest.raises(RuleViolation, match="already done"):
        safety_tasks.complete_task(db, at(8), outcome.task_ids[0], note="again")
    with pytest.raises(InvalidInput, match="short note"):
        safety_tasks.resolve_flag(db, at(8), outcome.flag_ids[0], note="")
