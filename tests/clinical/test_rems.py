"""REMS Patient Monitoring Form: built from a walked esketamine session; completeness; due dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from clinical.sessions.session_walk import (
    ESK,
    NURSE,
    PRESCRIBER,
    RECOVERED,
    T0,
    dosed_esketamine,
    dosed_iv,
    observe,
)
from ketaclinic.clinical import rems
from ketaclinic.clinical.policy import default_policy
from ketaclinic.clinical.safety.adverse_events import record_adverse_event
from ketaclinic.clinical.sessions import record as R
from ketaclinic.clinical.sessions.discharge import assess_discharge
from ketaclinic.errors import InvalidInput, RuleViolation

POLICY = default_policy(ESK)
PATIENT = rems.RemsPatientFacts(
    first_name="Alex",
    last_name="Rivera",
    date_of_birth=date(1980, 5, 17),
    sex="F",
    first_treatment=False,
    enrolled_in_rems=True,
    benzodiazepines=True,
    non_benzodiazepine_sedative_hypnotics=False,
    psychostimulants=False,
    maois=False,
)
SETTING = rems.RemsSetting(
    setting_name="Riverside Ketamine Clinic",
    setting_address="1 River Road, Springfield",
    monitoring_hcp_name=PRESCRIBER,
    monitoring_hcp_phone="+1 555 0100",
    monitoring_hcp_email="okafor@example.org",
)


def hm(hour: int, minute: int) -> datetime:
    return T0.replace(hour=hour, minute=minute)


def discharged_session() -> R.SessionRecord:
    """Devices 09:15 and 09:20; BP 150/90 at 09:55 (40 min), MOAA/S 4 and CADSS 12 then; all back
    by 10:20 (65 min); BP 134/84 at 11:13; discharged 11:20 (125 min after the first device)."""
    record = dosed_esketamine()
    peak = RECOVERED.model_copy(
        update={"systolic_mmhg": 150, "diastolic_mmhg": 90, "moaas": 4, "cadss_total": 12}
    )
    record = observe(record, "m40", hm(9, 55), peak, POLICY)
    for alert in record.open_alerts:
        record = R.acknowledge_alert(
            record, alert.id, by=PRESCRIBER, at=hm(9, 57), note="reassured"
        )
    record = observe(record, "m65", hm(10, 20), RECOVERED, POLICY)
    record = observe(record, "m118", hm(11, 13), RECOVERED, POLICY)
    assessment = assess_discharge(record, POLICY, at=hm(11, 20), escort_present=True)
    record = R.mark_ready(record, assessment, at=hm(11, 20), by=NURSE)
    return R.discharge(record, assessment, at=hm(11, 20), by=NURSE)


def test_form_filled_from_the_session() -> None:
    form = rems.form_from_record(discharged_session(), PATIENT, SETTING, POLICY)
    assert form.session_date == date(2026, 3, 2)
    assert (form.dose_mg, form.dose_choice, form.lot_number) == (56, "56 mg", "LOT-ESK-001")
    assert form.total_monitoring_minutes == 125
    assert form.ready_to_leave_minutes == 65
    assert (form.bp_predose_systolic_mmhg, form.bp_predose_diastolic_mmhg) == (128, 82)
    assert (form.bp_40min_systolic_mmhg, form.bp_40min_diastolic_mmhg) == (150, 90)
    assert (form.bp_completion_systolic_mmhg, form.bp_completion_diastolic_mmhg) == (134, 84)
    assert form.vitals_acceptable_before is True
    assert form.vitals_acceptable_at_completion is True
    assert (form.sedation, form.dissociation, form.respiratory_depression) == (True, True, False)
    assert form.serious_adverse_event is False
    assert rems.missing_fields(form) == []
    assert "11/2021" in form.form_version
    assert "unverified" in form.form_version


def test_finalise_refuses_while_any_field_is_missing() -> None:
    form = rems.form_from_record(
        discharged_session(), rems.RemsPatientFacts(first_name="Alex"), SETTING, POLICY
    )
    missing = rems.missing_fields(form)
    assert "last_name" in missing
    assert "maois" in missing
    assert "enrolled_in_rems" not in missing  # asked only for a first treatment
    assert "first_name" not in missing
    with pytest.raises(RuleViolation, match="missing: last_name"):
        rems.finalise(form, by=PRESCRIBER, at=hm(12, 0))
    answers = PATIENT.model_dump(exclude={"first_name", "opioids"})
    complete = rems.with_answers(form, **answers)
    assert rems.missing_fields(complete) == []
    final = rems.finalise(complete, by=PRESCRIBER, at=hm(12, 0))
    with pytest.raises(RuleViolation, match="finalised"):
        rems.with_answers(final, sex="M")


@pytest.mark.parametrize("field", rems.REQUIRED_FIELDS)
def test_each_required_field_blocks_finalising(field: str) -> None:
    form = rems.form_from_record(discharged_session(), PATIENT, SETTING, POLICY)
    blank = form.model_copy(update={field: None})
    assert rems.missing_fields(blank) == [field]
    with pytest.raises(RuleViolation, match=field):
        rems.finalise(blank, by=PRESCRIBER, at=hm(12, 0))


def test_enrolment_is_asked_for_a_first_treatment_only() -> None:
    form = rems.form_from_record(discharged_session(), PATIENT, SETTING, POLICY)
    first = form.model_copy(update={"first_treatment": True, "enrolled_in_rems": None})
    assert rems.missing_fields(first) == ["enrolled_in_rems"]
    later = form.model_copy(update={"first_treatment": False, "enrolled_in_rems": None})
    assert rems.missing_fields(later) == []


def test_serious_adverse_event_needs_its_description() -> None:
    event, _, _ = record_adverse_event(
        {
            "id": "AE-9",
            "patient_id": "P-1",
            "session_id": "S-1",
            "verbatim_term": "SpO2 84%, needed oxygen",
            "term_id": "respiratory-depression",
            "onset_at": hm(9, 40),
            "resolved_at": hm(10, 0),
            "severity": "severe",
            "seriousness": ["important-medical-event"],
            "relatedness": "probable",
            "action_taken": "dosing-stopped",
            "outcome": "recovered",
            "recorded_by": NURSE,
            "recorded_at": hm(10, 5),
        },
        POLICY,
        responsible_clinician=PRESCRIBER,
    )
    form = rems.form_from_record(discharged_session(), PATIENT, SETTING, POLICY, [event])
    assert form.serious_adverse_event is True
    assert form.respiratory_depression is True
    assert "SpO2 84%" in (form.serious_adverse_event_description or "")
    emptied = form.model_copy(update={"serious_adverse_event_description": None})
    assert rems.missing_fields(emptied) == ["serious_adverse_event_description"]


@pytest.mark.parametrize(
    ("zone", "shift", "utc_date", "clinic_date"),
    [
        # The 09:15 UTC first device moved to 03:15 UTC on 3 March = 19:15 on 2 March in
        # Los Angeles (an evening session).
        ("America/Los_Angeles", timedelta(hours=18), date(2026, 3, 3), date(2026, 3, 2)),
        # ... and to 19:15 UTC on 2 March = 08:15 on 3 March in Auckland (a morning session).
        ("Pacific/Auckland", timedelta(hours=10), date(2026, 3, 2), date(2026, 3, 3)),
    ],
)
def test_the_session_date_is_the_clinic_s_day_of_the_first_device(
    zone: str, shift: timedelta, utc_date: date, clinic_date: date
) -> None:
    """The record's times are UTC; the form's session date (and due date) is the clinic's day."""
    moved = _shifted(discharged_session(), shift)
    assert moved.dosing is not None
    assert moved.dosing.first_device_at is not None
    assert moved.dosing.first_device_at.astimezone(UTC).date() == utc_date
    utc_form = rems.form_from_record(moved, PATIENT, SETTING, POLICY)
    form = rems.form_from_record(moved, PATIENT, SETTING, POLICY, clinic_tz=ZoneInfo(zone))
    assert utc_form.session_date == utc_date
    assert form.session_date == clinic_date
    assert form.due_date == clinic_date + timedelta(days=7)


def _shifted(record: R.SessionRecord, shift: timedelta) -> R.SessionRecord:
    """The same session, every time moved by ``shift`` (a walk through the record's JSON)."""
    data = record.model_dump(mode="json")

    def move(value: object) -> object:
        if isinstance(value, dict):
            return {k: move(v) for k, v in value.items()}
        if isinstance(value, list):
            return [move(v) for v in value]
        if isinstance(value, str) and len(value) >= 19 and value[10:11] == "T":
            try:
                return (datetime.fromisoformat(value) + shift).isoformat()
            except ValueError:
                return value
        return value

    return R.SessionRecord.model_validate(move(data))


def test_due_submitted_and_overdue() -> None:
    form = rems.form_from_record(discharged_session(), PATIENT, SETTING, POLICY)
    assert form.due_date == date(2026, 3, 9)
    assert rems.status(form, today=date(2026, 3, 2)) == "due"
    assert rems.status(form, today=date(2026, 3, 9)) == "due"
    assert rems.status(form, today=date(2026, 3, 10)) == "overdue"
    with pytest.raises(RuleViolation, match="Finalise"):
        rems.mark_submitted(form, at=hm(12, 0), reference="FAX-1")
    final = rems.finalise(form, by=PRESCRIBER, at=hm(12, 0))
    sent = rems.mark_submitted(
        final, at=datetime(2026, 3, 12, 9, 0, tzinfo=UTC), reference="PORTAL-123"
    )
    assert rems.status(sent, today=date(2026, 3, 20)) == "submitted"
    with pytest.raises(RuleViolation, match="already submitted"):
        rems.mark_submitted(sent, at=hm(13, 0), reference="again")


def test_only_for_esketamine_sessions_with_a_device() -> None:
    with pytest.raises(InvalidInput, match="esketamine"):
        rems.form_from_record(dosed_iv(), PATIENT, SETTING, default_policy("iv-racemic"))
    with pytest.raises(InvalidInput, match="No REMS form field"):
        rems.with_answers(
            rems.form_from_record(discharged_session(), PATIENT, SETTING, POLICY), colour="blue"
        )


def test_form_for_a_session_aborted_after_dosing_uses_the_abort_time() -> None:
    record = dosed_esketamine()
    record = observe(record, "m40", hm(9, 55), RECOVERED, POLICY)
    record = R.abort(record, at=hm(10, 15), by=NURSE, reason="transferred to emergency department")
    form = rems.form_from_record(record, PATIENT, SETTING, POLICY)
    assert form.total_monitoring_minutes == 60
    assert form.ready_to_leave_minutes is None  # no discharge assessment: the clinician answers
    assert "ready_to_leave_minutes" in rems.missing_fields(form)
    assert form.session_date == (T0 + timedelta(minutes=15)).date()
