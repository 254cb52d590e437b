"""Pre-dose checks through the services: what comes from the record is never typed at the chair,
and a decision to proceed despite a check is the prescriber's alone (both databases)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from session_services import (
    BASELINE,
    ESK,
    IV,
    PLAN_PROTOCOL,
    PLANNED_MG,
    STATED_ALL_CLEAR,
    T0,
    at,
    audit_count,
    checked_in,
    new_patient,
    predose_answers,
    scheduled,
)
from sqlalchemy.orm import Session

from ketaclinic.clinical.sessions.lifecycle import SessionState
from ketaclinic.clinical.sessions.predose import CheckStatus, ClinicianDecision, PredoseResult
from ketaclinic.errors import InvalidInput, PermissionDenied, RuleViolation
from ketaclinic.services import patients, policy, screening, sessions
from ketaclinic.services.context import Actor
from support.clinic import NURSE, PRESCRIBER

ADMIN = Actor(user_id="user-admin-1", role="administrator", display_name="Ada Admin")

HIGH_BP = BASELINE.model_copy(update={"systolic_mmhg": 152, "diastolic_mmhg": 94})


def _item(result: PredoseResult, item_id: str) -> tuple[CheckStatus, str]:
    item = next(i for i in result.items if i.id == item_id)
    return item.status, item.message


def _decision(
    note: str = "Rechecked after rest; known baseline, no symptoms. Proceed.",
) -> dict[str, ClinicianDecision]:
    # The name typed here is not trusted: the service stamps the signed-in prescriber.
    return {"blood-pressure-gate": ClinicianDecision(by="Somebody Else", at=at(8).now, note=note)}


def _high_bp_session(db: Session) -> str:
    sid = checked_in(db, ESK)
    sessions.record_observation(db, at(7), sid, "base-high", HIGH_BP)
    return sid


def test_a_nurse_cannot_record_a_decision_to_proceed(db: Session) -> None:
    sid = _high_bp_session(db)
    result = sessions.evaluate_predose_checks(db, at(9), sid, predose_answers(ESK))
    assert _item(result, "blood-pressure-gate")[0] is CheckStatus.NEEDS_DECISION
    before = audit_count(db)
    with pytest.raises(PermissionDenied, match="Only a prescriber may decide to proceed"):
        sessions.pass_predose(db, at(10), sid, predose_answers(ESK), decisions=_decision())
    with pytest.raises(PermissionDenied, match="signed in as a nurse"):
        sessions.evaluate_predose_checks(
            db, at(10), sid, predose_answers(ESK), decisions=_decision()
        )
    assert audit_count(db) == before
    assert sessions.get_session(db, at(11), sid).state is SessionState.CHECKED_IN
    # Without a decision the nurse cannot pass either: the prescriber must decide.
    with pytest.raises(RuleViolation, match="needs-decision"):
        sessions.pass_predose(db, at(10), sid, predose_answers(ESK))


def test_a_prescribers_decision_is_stamped_with_who_and_when(db: Session) -> None:
    sid = _high_bp_session(db)
    record = sessions.pass_predose(
        db, at(10, PRESCRIBER), sid, predose_answers(ESK), decisions=_decision()
    )
    assert record.state is SessionState.PREDOSE_PASSED
    assert record.predose is not None
    item = next(i for i in record.predose.items if i.id == "blood-pressure-gate")
    assert item.status is CheckStatus.DECIDED
    assert item.decision is not None
    assert (item.decision.by, item.decision.at) == (PRESCRIBER.display_name, at(10).now)
    assert "Somebody Else" not in item.message
    assert f"Decision by {PRESCRIBER.display_name}" in item.message


def test_esketamine_needs_the_rems_enrolment_from_the_consent_register(db: Session) -> None:
    unenrolled = checked_in(db, ESK, new_patient(db, rems_enrolled=False))
    result = sessions.evaluate_predose_checks(db, at(9), unenrolled, predose_answers(ESK))
    assert _item(result, "rems-patient-enrolled") == (
        CheckStatus.FAILED,
        "SPRAVATO REMS patient enrolment on record: no; resolve before dosing.",
    )
    with pytest.raises(RuleViolation, match="REMS"):
        sessions.pass_predose(db, at(10), unenrolled, predose_answers(ESK))
    enrolled = checked_in(db, ESK)
    passed = sessions.evaluate_predose_checks(db, at(9), enrolled, predose_answers(ESK))
    assert _item(passed, "rems-patient-enrolled")[0] is CheckStatus.PASSED
    # Racemic ketamine has no REMS: the check is not asked.
    iv = checked_in(db, IV, new_patient(db, rems_enrolled=False))
    iv_result = sessions.evaluate_predose_checks(db, at(9), iv, predose_answers(IV))
    assert "rems-patient-enrolled" not in {i.id for i in iv_result.items}


def test_an_answer_the_record_gives_cannot_be_typed(db: Session) -> None:
    sid = checked_in(db, ESK, new_patient(db, rems_enrolled=False))
    with pytest.raises(InvalidInput, match="consent register") as typed:
        sessions.evaluate_predose_checks(
            db, at(9), sid, predose_answers(ESK) | {"rems_enrolled": True}
        )
    assert typed.value.field == "rems_enrolled"


def test_the_nurse_still_passes_when_nothing_needs_a_decision(db: Session) -> None:
    sid = checked_in(db, IV)
    record = sessions.pass_predose(db, at(10, NURSE), sid, predose_answers(IV))
    assert record.state is SessionState.PREDOSE_PASSED


@pytest.mark.parametrize("kind", [IV, ESK])
def test_eligibility_and_dose_come_from_the_screening_and_the_signed_plan(
    db: Session, kind: object
) -> None:
    sid = checked_in(db, kind)  # type: ignore[arg-type]
    result = sessions.evaluate_predose_checks(db, at(9), sid, predose_answers(kind))  # type: ignore[arg-type]
    status, message = _item(result, "eligibility-and-dose")
    assert status is CheckStatus.PASSED, message
    assert f"Planned dose {PLANNED_MG[kind]:g} mg" in message  # type: ignore[index]
    assert "plan version 1 signed by Dr Sam Okafor" in message
    assert "screening of 2026-02-24 by Dr Sam Okafor" in message
    facts = sessions.predose_facts(db, at(9), sid)
    assert facts.dose.dose is not None
    assert facts.dose.protocol is not None
    assert facts.dose.protocol.id == PLAN_PROTOCOL[kind]  # type: ignore[index]
    assert facts.dose.max_dose_mg is not None
    assert facts.eligibility.valid is True


@pytest.mark.parametrize(
    "field", ["eligibility_valid", "planned_dose_mg", "max_dose_mg", "dose_override_recorded"]
)
def test_the_nurse_cannot_type_eligibility_or_the_dose(db: Session, field: str) -> None:
    sid = checked_in(db, IV)
    typed = {"eligibility_valid": True, "planned_dose_mg": 35, "max_dose_mg": 70,
             "dose_override_recorded": True}[field]  # fmt: skip
    with pytest.raises(InvalidInput, match="not answered at the chair") as refused:
        sessions.pass_predose(db, at(10), sid, predose_answers(IV) | {field: typed})
    assert refused.value.field == field


def test_a_session_without_a_signed_plan_reports_the_plan_missing(db: Session) -> None:
    sid = scheduled(db, IV, new_patient(db), plan_session_id=None)
    sessions.check_in(db, at(0), sid)
    sessions.record_observation(db, at(5), sid, "base-1", BASELINE)
    result = sessions.evaluate_predose_checks(db, at(9), sid, predose_answers(IV))
    status, message = _item(result, "eligibility-and-dose")
    assert status is CheckStatus.FAILED
    assert "No signed plan for this session" in message
    with pytest.raises(RuleViolation, match="No signed plan"):
        sessions.pass_predose(db, at(10), sid, predose_answers(IV))


def test_a_newer_screening_that_is_not_eligible_fails_the_check(db: Session) -> None:
    pid = new_patient(db)
    sid = checked_in(db, IV, pid)
    # The day before: an aneurysm found (an absolute contraindication), screened again.
    day_before = at(-24 * 60, PRESCRIBER)
    patients.add_diagnosis(db, day_before, pid, {"condition": "aneurysmal-vascular-disease"})
    again = screening.screen_patient(db, day_before, pid, "racemic-iv-im", STATED_ALL_CLEAR)
    assert again.decision.decision.value == "not-eligible"
    result = sessions.evaluate_predose_checks(db, at(9), sid, predose_answers(IV))
    status, message = _item(result, "eligibility-and-dose")
    assert status is CheckStatus.FAILED
    assert "not valid" in message
    assert "not eligible" in message


def test_a_screening_older_than_the_clinics_validity_period_has_expired(db: Session) -> None:
    sid = checked_in(db, IV)  # screened 6 days before the clinic morning
    fresh = sessions.evaluate_predose_checks(db, at(9), sid, predose_answers(IV))
    assert "no validity period set by the clinic" in _item(fresh, "eligibility-and-dose")[1]
    policy.change_threshold(
        db, at(-120, ADMIN), IV, "screening_valid_days", 5,
        reason="Medical director: re-screen every course block",
    )  # fmt: skip
    result = sessions.evaluate_predose_checks(db, at(9), sid, predose_answers(IV))
    status, message = _item(result, "eligibility-and-dose")
    assert status is CheckStatus.FAILED
    assert f"expired on {(T0 - timedelta(days=1)).date().isoformat()}" in message
