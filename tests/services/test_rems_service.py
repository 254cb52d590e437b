"""REMS Patient Monitoring Forms through the service: generated at esketamine discharge, filled
from the stored session and patient record, finalised only when complete, due within 7 days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from session_services import (
    BASELINE,
    ESK,
    IV,
    RECOVERED,
    T0,
    at,
    discharged,
    monitoring,
    new_patient,
    predose_answers,
    scheduled,
)
from sqlalchemy.orm import Session

from ketaclinic.clinical.rems import FORM_VERSION
from ketaclinic.errors import InvalidInput, NotFound, RuleViolation
from ketaclinic.services import consents, patients, rems, sessions
from ketaclinic.services.context import RequestContext
from support.clinic import NURSE, PRESCRIBER

SETTING_ANSWERS = {
    "monitoring_hcp_phone": "+1 555-0100",
    "monitoring_hcp_email": "nora.quinn@clinic.example.org",
    "setting_name": "Riverside Ketamine Clinic",
    "setting_address": "12 Harbour Road, Springfield",
}


def esketamine_patient(db: Session) -> str:
    pid = new_patient(db, rems_enrolled=False, given_name="Jordan", family_name="Lee", sex="M")
    ctx = RequestContext(actor=NURSE, now=T0 - timedelta(days=3))
    patients.add_medication(
        db, ctx, pid, {"drug_name": "lorazepam", "dose_amount": 1, "dose_unit": "mg"}
    )
    consents.record_consent(db, ctx, pid, "rems-enrolment")
    return pid


def test_form_generated_at_discharge_from_the_stored_session(db: Session) -> None:
    pid = esketamine_patient(db)
    sid = monitoring(db, ESK, pid)
    # 40 minutes after the first device (09:15).
    sessions.record_observation(
        db, at(55), sid, "bp40", RECOVERED.model_copy(update={"systolic_mmhg": 146})
    )
    for n, minute in enumerate((125, 134)):
        sessions.record_observation(db, at(minute), sid, f"r{n}", RECOVERED)
    sessions.mark_ready(db, at(135), sid, escort_present=True)
    sessions.discharge(db, at(140), sid, escort_present=True)

    form = rems.get_form(db, at(141), sid)
    assert form.form_version == FORM_VERSION
    assert (form.first_name, form.last_name, form.sex) == ("Jordan", "Lee", "M")
    assert form.first_treatment is True
    assert form.enrolled_in_rems is True
    assert form.benzodiazepines is True
    assert form.psychostimulants is False
    assert form.monitoring_hcp_name == NURSE.display_name
    assert (form.dose_mg, form.lot_number) == (56, "LOT-ESK-001")
    # First device 09:15 to discharge 11:20: 125 minutes.
    assert form.total_monitoring_minutes == pytest.approx(125)
    assert (form.bp_predose_systolic_mmhg, form.bp_predose_diastolic_mmhg) == (128, 82)
    assert form.bp_40min_systolic_mmhg == 146
    assert form.bp_completion_systolic_mmhg == RECOVERED.systolic_mmhg
    assert form.session_date == T0.date()
    assert form.due_date == date(2026, 3, 9)
    assert form.serious_adverse_event is False


def test_finalise_refused_until_complete_then_submitted(db: Session) -> None:
    sid = discharged(db, ESK, esketamine_patient(db))
    with pytest.raises(RuleViolation, match=r"missing: .*monitoring_hcp_phone") as refused:
        rems.finalise_form(db, at(160), sid)
    for field in SETTING_ANSWERS:
        assert field in refused.value.message
    rems.answer_form(db, at(161), sid, **SETTING_ANSWERS)
    with pytest.raises(RuleViolation, match="Finalise the REMS form before"):
        rems.mark_submitted(db, at(162), sid, reference="REMS-123")
    final = rems.finalise_form(db, at(163), sid)
    assert final.finalised_by == NURSE.display_name
    with pytest.raises(RuleViolation, match="finalised; it cannot be changed"):
        rems.answer_form(db, at(164), sid, setting_name="Other")
    rems.mark_submitted(db, at(165), sid, reference="REMS-123")
    [summary] = rems.form_summaries(db, today=date(2026, 3, 20))
    assert summary.status == "submitted"
    pdf = rems.render_form_pdf(db, at(166), sid)
    assert pdf.startswith(b"%PDF")


def test_status_is_due_through_day_seven_then_overdue(db: Session) -> None:
    sid = discharged(db, ESK, esketamine_patient(db))
    due_on = T0.date() + timedelta(days=7)
    assert [s.status for s in rems.form_summaries(db, today=T0.date())] == ["due"]
    assert [s.status for s in rems.form_summaries(db, today=due_on)] == ["due"]
    late = rems.form_summaries(db, today=due_on + timedelta(days=1), status="overdue")
    assert [s.session_id for s in late] == [sid]


def test_a_second_treatment_is_not_a_first_treatment(db: Session) -> None:
    pid = esketamine_patient(db)
    discharged(db, ESK, pid)
    day = 24 * 60  # the next morning, same times
    second = scheduled(db, ESK, pid, minutes=day)  # the plan's next calendar entry
    sessions.check_in(db, at(day), second)
    sessions.record_observation(db, at(day + 5), second, "b", BASELINE)
    sessions.pass_predose(db, at(day + 10), second, predose_answers(ESK))
    # One device instead of the plan's dose: the prescriber at the chair overrides with a reason.
    sessions.start_dosing(
        db, at(day + 15, PRESCRIBER), second, product="SPRAVATO",
        formulation="nasal spray 28 mg device", lot_number="LOT-ESK-002", dose_mg=28,
        administered_by="patient (self, observed)", supervised_by=NURSE.display_name,
        override_reason="Marked dissociation after 56 mg yesterday; one device today.",
    )  # fmt: skip
    sessions.add_dosing_event(db, at(day + 15), second, "device", device_mg=28)
    sessions.end_dosing(db, at(day + 16), second)
    sessions.record_observation(db, at(day + 134), second, "r", RECOVERED)
    sessions.mark_ready(db, at(day + 135), second, escort_present=True)
    sessions.discharge(db, at(day + 136), second, escort_present=True)
    form = rems.get_form(db, at(day + 137), second)
    assert form.first_treatment is False
    assert form.dose_choice == "other (28 mg)"


def test_an_abort_before_any_device_owes_no_form(db: Session) -> None:
    sid = monitoring(db, ESK)
    later = sessions.schedule_session(db, at(100), new_patient(db), ESK, T0)
    sessions.check_in(db, at(101), later.session_id)
    sessions.abort(db, at(105), later.session_id, reason="Patient felt unwell before dosing")
    with pytest.raises(NotFound):
        rems.get_form(db, at(106), later.session_id)
    sessions.abort(db, at(107), sid, reason="Transferred to emergency care")
    # A device was given before this abort, so its form is due like any other.
    assert rems.get_form(db, at(108), sid).session_id == sid
    assert rems.generate_missing_forms(db, at(109)) == []


def test_only_closed_esketamine_sessions_have_a_form(db: Session) -> None:
    iv = discharged(db, IV)
    with pytest.raises(InvalidInput, match="intranasal esketamine sessions only"):
        rems.generate_form(db, at(160), iv)
    running = monitoring(db, ESK)
    with pytest.raises(RuleViolation, match="when the session ends"):
        rems.generate_form(db, at(60), running)
