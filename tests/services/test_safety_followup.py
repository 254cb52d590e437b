"""Safety follow-up through the services: an adverse event recorded after discharge updates the
session's REMS form (keeping the clinician's answers) or, once the form is finalised, raises a
correction task; tasks are closed only by the role they are for; Today's open tasks due."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from session_services import ESK, IV, T0, at, discharged, new_patient, signed_plan_for
from sqlalchemy.orm import Session

from ketaclinic.clinical.policy import default_policy
from ketaclinic.errors import PermissionDenied
from ketaclinic.services import bladder_schedule, consents, planning, rems, safety, safety_tasks
from ketaclinic.services.audit import AuditFilter, search_events
from ketaclinic.services.bladder_schedule import ScreenDue
from ketaclinic.services.context import RequestContext
from ketaclinic.services.plan_records import session_rows
from support.clinic import PRESCRIBER, context

SETTING = {
    "monitoring_hcp_phone": "+1 555-0100",
    "monitoring_hcp_email": "nora.quinn@clinic.example.org",
    "setting_name": "Riverside Ketamine Clinic",
    "setting_address": "12 Harbour Road, Springfield",
}
LATER = 24 * 60  # the next morning


def _esketamine_discharged(db: Session) -> tuple[str, str]:
    pid = new_patient(db)
    if consents.active_consent(db, pid, "rems-enrolment", at=T0) is None:
        consents.record_consent(db, at(-600), pid, "rems-enrolment")
    return pid, discharged(db, ESK, pid)


def _event(pid: str, sid: str, **changes: Any) -> dict[str, Any]:
    return {
        "patient_id": pid, "session_id": sid, "verbatim_term": "fainted at home, admitted",
        "term_id": "other", "onset_at": T0 + timedelta(minutes=170), "severity": "severe",
        "seriousness": ["hospitalisation"], "relatedness": "possible",
        "action_taken": "dosing-interrupted", "outcome": "recovering",
    } | changes  # fmt: skip


def test_a_late_serious_event_updates_the_open_form_and_keeps_the_clinicians_answers(
    db: Session,
) -> None:
    pid, sid = _esketamine_discharged(db)
    before = rems.get_form(db, at(160), sid)
    assert before.serious_adverse_event is False
    # The nurse answers the setting and corrects a computed blood pressure (a transcription).
    corrected = (before.bp_completion_systolic_mmhg or 0) + 4
    rems.answer_form(db, at(161), sid, **SETTING, bp_completion_systolic_mmhg=corrected)

    outcome = safety.record_adverse_event_for(db, at(LATER), _event(pid, sid))

    form = rems.get_form(db, at(LATER + 1), sid)
    assert form.serious_adverse_event is True
    assert form.serious_adverse_event_description == "fainted at home, admitted (hospitalisation)"
    assert form.bp_completion_systolic_mmhg == corrected
    assert {k: getattr(form, k) for k in SETTING} == SETTING
    assert form.finalised_at is None
    # Only the review and reporting tasks: nothing to correct on a form not yet finalised.
    assert sorted(t.kind for t in safety.open_tasks(db, patient_id=pid)) == [
        "serious-ae-medical-review",
        "serious-ae-report",
    ]
    assert len(outcome.task_ids) == 2


def test_a_recorded_event_cannot_be_answered_away(db: Session) -> None:
    pid, sid = _esketamine_discharged(db)
    rems.answer_form(db, at(161), sid, respiratory_depression=False)
    late = _event(
        pid, sid, verbatim_term="slow shallow breathing in recovery",
        term_id="respiratory-depression", seriousness=[], severity="moderate", outcome="recovered",
        onset_at=T0 + timedelta(minutes=50), resolved_at=T0 + timedelta(minutes=70),
    )  # fmt: skip
    safety.record_adverse_event_for(db, at(170), late)
    assert rems.get_form(db, at(171), sid).respiratory_depression is True


def test_a_serious_event_after_finalising_raises_a_correction_task(db: Session) -> None:
    pid, sid = _esketamine_discharged(db)
    rems.answer_form(db, at(161), sid, **SETTING)
    final = rems.finalise_form(db, at(162), sid)
    # A mild, non-serious headache changes nothing on the form: no task.
    mild = _event(
        pid, sid, verbatim_term="mild headache", term_id="headache", seriousness=[],
        severity="mild", outcome="recovered", resolved_at=T0 + timedelta(hours=8),
    )  # fmt: skip
    assert safety.record_adverse_event_for(db, at(LATER), mild).task_ids == ()

    outcome = safety.record_adverse_event_for(db, at(LATER + 5), _event(pid, sid))

    assert rems.get_form(db, at(LATER + 6), sid) == final  # the signed form is never rewritten
    tasks = {t.kind: t for t in safety.open_tasks(db, patient_id=pid)}
    correction = tasks["rems-form-correction"]
    assert correction.id in outcome.task_ids
    assert "after this session's REMS monitoring form was finalised" in correction.reason
    assert "serious adverse event" in correction.reason
    assert correction.assignee_role == "prescriber"
    assert correction.assignee == PRESCRIBER.display_name
    days = default_policy(ESK).number("serious_event_report_due_days")
    assert correction.due_at == at(LATER + 5).now + timedelta(days=days)


def test_an_iv_session_event_touches_no_rems_form(db: Session) -> None:
    pid = new_patient(db)
    sid = discharged(db, IV, pid)
    outcome = safety.record_adverse_event_for(db, at(200), _event(pid, sid))
    kinds = sorted(t.kind for t in safety.open_tasks(db, patient_id=pid))
    assert kinds == ["serious-ae-medical-review", "serious-ae-report"]
    assert len(outcome.task_ids) == 2


def test_a_task_is_closed_only_by_its_role_and_today_lists_what_is_due(db: Session) -> None:
    first = new_patient(db, given_name="Ada", family_name="Price")
    second = new_patient(db, given_name="Ben", family_name="Stone")
    # A positive item 9 yesterday (overdue now) and a craving report today (due today).
    safety.suicide_screen_followup(
        db, at(-LATER), first, screened_at=at(-LATER).now, phq9_item9=2, cssrs_risk=None
    )
    safety.record_misuse_signal(db, at(30), second, "craving-reported", "Asks for more sessions.")
    safety.record_bladder_screen(db, at(31), second, [])

    due = safety_tasks.tasks_due(db, at(60))

    assert [(t.patient_name, t.kind, t.overdue) for t in due.due] == [
        ("Ada Price", "suicide-risk-assessment", True),
        ("Ben Stone", "prescriber-misuse-review", False),
    ]
    assert due.later == 0
    assert due.until.date() == T0.date()
    risk = due.due[0]
    with pytest.raises(PermissionDenied, match="for a prescriber; you are signed in as a nurse"):
        safety_tasks.complete_task(db, at(61), risk.task_id, note="Spoke to the patient.")
    assert [t.id for t in safety.open_tasks(db, patient_id=first)] == [risk.task_id]
    assert (
        safety_tasks.complete_task(
            db,
            at(62, PRESCRIBER),
            risk.task_id,
            note="C-SSRS repeated: low risk; safety plan given.",
        )
        == first
    )
    assert safety.open_tasks(db, patient_id=first) == []
    [flag] = safety.open_flags(db, patient_id=first)
    with pytest.raises(PermissionDenied):
        safety_tasks.resolve_flag(db, at(63), flag.id, note="Seen.")
    safety_tasks.resolve_flag(db, at(64, PRESCRIBER), flag.id, note="Assessed today; low risk.")
    actions = [e.action for e in search_events(db, AuditFilter(patient_id=first))]
    assert actions[:2] == ["safety.flag.resolve", "safety.task.complete"]
    assert "safety.tasks_due.read" in [e.action for e in search_events(db, AuditFilter())]


def test_bladder_screens_fall_due_from_the_plans_maintenance_phase(db: Session) -> None:
    pid = new_patient(db)
    signed_plan_for(db, pid, IV)  # screens the patient; its plan has no maintenance
    doctor = context(PRESCRIBER, T0 - timedelta(days=1))
    draft = planning.create_plan(
        db, doctor, pid, "iv-racemic-thrice-weekly", T0.date(), maintenance_option="weekly-x4"
    )
    plan_id = planning.sign_plan(db, doctor, draft.plan_id).plan_id
    first_maintenance = min(
        s.scheduled_on for s in session_rows(db, plan_id) if s.phase_kind == "maintenance"
    )
    interval = default_policy(IV).number("bladder_screen_interval_days")

    def listed(ctx: RequestContext) -> list[ScreenDue]:
        return [s for s in safety_tasks.tasks_due(db, ctx).bladder_screens if s.patient_id == pid]

    assert bladder_schedule.bladder_screen_due(db, at(0), pid) is None  # induction
    assert listed(at(0)) == []
    # Two days into maintenance with no screen yet: due since its first day, and on Today.
    later = T0.replace(hour=12) + timedelta(days=(first_maintenance - T0.date()).days + 2)
    ctx = context(PRESCRIBER, later)
    due = bladder_schedule.bladder_screen_due(db, ctx, pid)
    assert due is not None
    assert due.date() == first_maintenance
    (shown,) = listed(ctx)
    assert shown.overdue
    assert safety_tasks.safety_record(db, ctx, pid).bladder_screen_due == due
    # Screened now: the next one is an interval later, and Today no longer lists the patient.
    safety.record_bladder_screen(db, ctx, pid, [])
    assert bladder_schedule.bladder_screen_due(db, ctx, pid) == later + timedelta(days=interval)
    assert listed(ctx) == []
