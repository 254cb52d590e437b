"""Whole IV and esketamine sessions through the services, stored and reloaded, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from session_services import (
    BASELINE,
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
    predose_answers,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaclinic.clinical.policy import default_policy
from ketaclinic.clinical.sessions.lifecycle import SessionEvent, SessionState
from ketaclinic.errors import InvalidInput, RuleViolation
from ketaclinic.services import consents, session_today, sessions
from ketaclinic.storage.database import SessionFactory
from ketaclinic.storage.tables.sessions import SessionStepRow
from support.clinic import NURSE, PRESCRIBER


def test_esketamine_session_from_check_in_to_signature_and_addendum(
    db: Session, session_factory: SessionFactory
) -> None:
    sid = monitoring(db, ESK)
    # 40 minutes after the first device (09:15): the REMS mid-session blood pressure, drowsy.
    sessions.record_observation(
        db, at(55), sid, "rems-40", RECOVERED.model_copy(update={"moaas": 4})
    )
    sessions.record_observation(db, at(125), sid, "rec-1", RECOVERED)
    # 115 minutes after the first device: the REMS 2-hour minimum is not over.
    early = sessions.discharge_assessment(db, at(130), sid, escort_present=True)
    assert [u.id for u in early.unmet] == ["minimum-observation"]
    with pytest.raises(RuleViolation, match="Observed 115 of 120 minutes"):
        sessions.mark_ready(db, at(130), sid, escort_present=True)
    sessions.mark_ready(db, at(135), sid, escort_present=True)
    sessions.discharge(db, at(136), sid, escort_present=True)
    sessions.sign(db, at(140, PRESCRIBER), sid)
    sessions.add_addendum(db, at(150), sid, "Patient phoned at home: well, escort drove.")
    db.commit()

    with session_factory() as fresh:
        record = sessions.get_session(fresh, at(160), sid)
        pdf = session_today.session_record_pdf(fresh, at(161), sid)
    assert pdf.startswith(b"%PDF")
    assert record.state is SessionState.DISCHARGED
    assert [s.event for s in record.steps] == [
        SessionEvent.CHECK_IN, SessionEvent.PASS_PREDOSE, SessionEvent.START_DOSING,
        SessionEvent.END_DOSING, SessionEvent.MARK_READY, SessionEvent.DISCHARGE,
    ]  # fmt: skip
    assert [s.at - T0 for s in record.steps] == [
        timedelta(minutes=m) for m in (0, 10, 15, 20, 135, 136)
    ]
    assert {s.by for s in record.steps} == {NURSE.display_name}
    assert record.dosing is not None
    assert [e.device_mg for e in record.dosing.devices] == [28, 28]
    assert record.dosing.first_device_at == T0 + timedelta(minutes=15)
    assert record.dosing.dose_mg_per_kg == pytest.approx(56 / 70)
    assert record.predose is not None
    assert record.predose.passed
    assert record.baseline().systolic_mmhg == BASELINE.systolic_mmhg
    # Ready without the 2-hour rule at the first all-clear reading (11:05), 110 min after 09:15.
    assert record.discharge_assessment is not None
    assert record.discharge_assessment.clinically_ready_minutes == pytest.approx(110)
    assert record.signature is not None
    assert record.signature.by == PRESCRIBER.display_name
    assert [a.text for a in record.addenda] == ["Patient phoned at home: well, escort drove."]


def test_iv_session_with_rate_change_pause_and_resume(db: Session) -> None:
    sid = dosing(db, IV)
    sessions.add_dosing_event(
        db, at(25), sid, "rate-change", rate_mg_per_h=40, reason="dissociation, slowed"
    )
    sessions.add_dosing_event(db, at(30), sid, "pause", reason="nausea")
    sessions.add_dosing_event(db, at(33), sid, "resume")
    sessions.end_dosing(db, at(60), sid)
    minimum = default_policy(IV).number("min_observation_minutes")
    ready = 15 + minimum  # IV observation counts from the start of the infusion (09:15)
    sessions.record_observation(db, at(ready - 5), sid, "rec-1", RECOVERED)
    sessions.mark_ready(db, at(ready), sid, escort_present=True)
    record = sessions.discharge(db, at(ready + 1), sid, escort_present=True)
    assert record.dosing is not None
    assert [e.kind.value for e in record.dosing.events] == ["rate-change", "pause", "resume"]
    assert record.dosing.stopped_at == T0 + timedelta(minutes=60)
    reloaded = sessions.get_session(db, at(ready + 2), sid)
    assert reloaded == record


def test_a_step_the_state_machine_forbids_is_refused_and_writes_nothing(db: Session) -> None:
    sid = checked_in(db, ESK)
    steps_before = db.scalar(select(func.count()).select_from(SessionStepRow))
    audits_before = audit_count(db)
    with pytest.raises(RuleViolation, match=r"'checked-in' cannot 'start-dosing'.*pass-predose"):
        sessions.start_dosing(
            db, at(10), sid, product="SPRAVATO", formulation="nasal spray",
            lot_number="L1", dose_mg=56, administered_by="patient", supervised_by="RN",
        )  # fmt: skip
    with pytest.raises(RuleViolation, match="cannot 'discharge'"):
        sessions.discharge(db, at(10), sid, escort_present=True)
    with pytest.raises(RuleViolation, match="cannot 'no-show'"):
        sessions.no_show(db, at(10), sid)
    assert db.scalar(select(func.count()).select_from(SessionStepRow)) == steps_before
    assert audit_count(db) == audits_before
    assert sessions.get_session(db, at(11), sid).state is SessionState.CHECKED_IN


def test_closed_sessions_take_no_further_step(db: Session) -> None:
    pid = new_patient(db)
    absent = sessions.schedule_session(db, at(-60), pid, IV, T0).session_id
    sessions.no_show(db, at(30), absent)
    with pytest.raises(RuleViolation, match="none \\(the session is closed\\)"):
        sessions.check_in(db, at(31), absent)
    left = checked_in(db, IV)
    sessions.abort(db, at(12), left, reason="BP 182/110 after rest; prescriber postponed")
    with pytest.raises(RuleViolation, match="'aborted' cannot"):
        sessions.pass_predose(db, at(13), left, predose_answers(IV))
    with pytest.raises(InvalidInput, match="written reason"):
        sessions.abort(db, at(12), checked_in(db, IV), reason=" ")


def test_failed_predose_checks_leave_the_session_unchanged(db: Session) -> None:
    sid = checked_in(db, ESK)
    before = audit_count(db)
    answers = predose_answers(ESK, escort_confirmed=False, last_liquid_at=T0)
    with pytest.raises(
        RuleViolation, match=r"last liquids 10 min ago; needs 30 min.*Not confirmed: escort"
    ):
        sessions.pass_predose(db, at(10), sid, answers)
    record = sessions.get_session(db, at(11), sid)
    assert record.state is SessionState.CHECKED_IN
    assert record.predose is None
    assert audit_count(db) == before + 1  # only the read just now


def test_predose_consent_comes_from_the_consent_register(db: Session) -> None:
    pid = new_patient(db)
    sid = sessions.schedule_session(db, at(-60), pid, IV, T0).session_id
    sessions.check_in(db, at(0), sid)
    sessions.record_observation(db, at(5), sid, "b", BASELINE)
    result = sessions.evaluate_predose_checks(db, at(10), sid, predose_answers(IV))
    consent = next(i for i in result.items if i.id == "consent-current")
    assert consent.status.value == "passed"
    other = new_patient(db, rems_enrolled=False, given_name="Robin", family_name="Ellis")
    consent_id = consents.list_consents(db, other)[0].consent_id
    consents.withdraw_consent(db, at(-30), consent_id)
    sid2 = sessions.schedule_session(db, at(-20), other, IV, T0).session_id
    sessions.check_in(db, at(0), sid2)
    sessions.record_observation(db, at(5), sid2, "b", BASELINE)
    result2 = sessions.evaluate_predose_checks(db, at(10), sid2, predose_answers(IV))
    assert next(i for i in result2.items if i.id == "consent-current").status.value == "failed"


def test_signed_record_is_append_only(db: Session) -> None:
    sid = monitoring(db, ESK)
    for n, minute in enumerate((125, 134)):
        sessions.record_observation(db, at(minute), sid, f"r{n}", RECOVERED)
    sessions.mark_ready(db, at(135), sid, escort_present=True)
    sessions.discharge(db, at(136), sid, escort_present=True)
    sessions.sign(db, at(140), sid)
    with pytest.raises(RuleViolation, match="signed; corrections go in an addendum"):
        sessions.record_observation(db, at(141), sid, "late", RECOVERED)
    with pytest.raises(RuleViolation, match="signed"):
        sessions.sign(db, at(142), sid)
    assert len(sessions.add_addendum(db, at(143), sid, "BP cuff size corrected.").addenda) == 1


def test_charted_times_cannot_be_in_the_future(db: Session) -> None:
    sid = scheduled_now(db)
    with pytest.raises(InvalidInput, match="in the future"):
        sessions.check_in(db, at(0), sid, at=T0 + timedelta(minutes=5))


def scheduled_now(db: Session) -> str:
    return sessions.schedule_session(db, at(-60), new_patient(db), IV, T0).session_id
