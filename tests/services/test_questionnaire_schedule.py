"""Which self-report forms a patient is asked to fill: those for everyone, and those the
patient's plan calls for (its protocol, the conditions it treats, or an active diagnosis);
what is due, and that reading it is audited. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from screened_patients import STATED_ALL_CLEAR, make_known_patient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical.knowledge import Source
from ketaclinic.errors import ConfigurationError
from ketaclinic.services import measurement, patients, planning, screening
from ketaclinic.services.progress import PortalData, ScheduledQuestionnaire, portal_data
from ketaclinic.services.questionnaire_schedule import (
    check_schedule,
    due_questionnaires,
    questionnaire_plan,
)
from ketaclinic.storage.tables.access import AuditEvent
from support.clinic import CLINIC_NOW, NURSE, PRESCRIBER, context

IV3 = "iv-racemic-thrice-weekly"
POLICY = Source(citation="test clinic policy", year=2026, verified=False)


def _entry(instrument: str, days: int, **when: tuple[str, ...]) -> ScheduledQuestionnaire:
    return ScheduledQuestionnaire(id=instrument, every_days=days, source=POLICY, **when)


def _signed_plan(db: Session, patient_id: str) -> None:
    ctx = context(PRESCRIBER)
    screening.screen_patient(db, ctx, patient_id, "racemic-iv-im", STATED_ALL_CLEAR)
    plan = planning.create_plan(db, ctx, patient_id, IV3, date(2026, 3, 4))
    planning.sign_plan(db, ctx, plan.plan_id)
    db.commit()


def test_the_shipped_schedule_names_self_report_forms_conditions_and_protocols_that_exist() -> None:
    check_schedule(portal_data())
    with pytest.raises(ConfigurationError, match="clinician"):
        check_schedule(PortalData(
            questionnaires=[_entry("madrs", 7)],
            crisis_resources=portal_data().crisis_resources,
        ))  # fmt: skip


def test_everyone_gets_the_base_forms_and_a_ptsd_diagnosis_adds_the_pcl5(db: Session) -> None:
    pid = make_known_patient(db, context())
    base = [q.instrument_id for q in questionnaire_plan(db, pid)]
    assert base == [q.id for q in portal_data().questionnaires]
    assert "pcl5" not in base
    patients.add_diagnosis(db, context(), pid, {"condition": "ptsd"})
    db.commit()
    planned = {q.instrument_id: q for q in questionnaire_plan(db, pid)}
    shipped = next(q for q in portal_data().plan_questionnaires if q.id == "pcl5")
    assert planned["pcl5"].every_days == shipped.every_days
    assert planned["pcl5"].reason.startswith("your care team recorded")
    assert planned["pcl5"].source == shipped.source


def test_a_ruled_out_condition_asks_for_nothing(db: Session) -> None:
    pid = make_known_patient(db, context())
    patients.add_diagnosis(db, context(), pid, {"condition": "ptsd", "status": "ruled-out"})
    db.commit()
    assert "pcl5" not in [q.instrument_id for q in questionnaire_plan(db, pid)]


def test_the_signed_plan_s_protocol_and_indications_call_for_their_forms(db: Session) -> None:
    pid = make_known_patient(db, context())
    policy = PortalData(
        questionnaires=[_entry("phq9", 7)],
        plan_questionnaires=[
            _entry("qids-sr16", 14, when_protocols=(IV3,)),
            _entry("phq2", 3, when_conditions=("trd",)),
            _entry("pcl5", 28, when_conditions=("ptsd",)),
        ],
        crisis_resources=portal_data().crisis_resources,
    )
    # No plan in force: only the form for everyone (the patient has mdd and trd recorded, so
    # the trd entry applies through the diagnosis).
    before = {q.instrument_id: q.reason for q in questionnaire_plan(db, pid, policy)}
    assert set(before) == {"phq9", "phq2"}
    assert before["phq2"].startswith("your care team recorded")
    _signed_plan(db, pid)
    after = {q.instrument_id: q for q in questionnaire_plan(db, pid, policy)}
    assert set(after) == {"phq9", "qids-sr16", "phq2"}
    assert after["qids-sr16"].reason.startswith("your treatment plan (")
    assert after["qids-sr16"].every_days == 14
    assert after["phq2"].reason.startswith("your treatment plan treats")


def test_a_form_is_due_until_answered_then_after_its_interval_and_reading_is_audited(
    db: Session,
) -> None:
    pid = make_known_patient(db, context())
    patients.add_diagnosis(db, context(), pid, {"condition": "ptsd"})
    measurement.record_questionnaire_response(
        db, context(NURSE, CLINIC_NOW - timedelta(days=1)), pid, "pcl5", [1] * 20
    )
    db.commit()
    every = next(q.every_days for q in portal_data().plan_questionnaires if q.id == "pcl5")
    answered = CLINIC_NOW - timedelta(days=1)

    def due_at(moment: datetime) -> list[str]:
        return [d.instrument_id for d in due_questionnaires(db, context(NURSE, moment), pid)]

    assert "pcl5" not in due_at(answered + timedelta(days=every - 1))
    assert "pcl5" in due_at(answered + timedelta(days=every))
    assert "gad7" in due_at(CLINIC_NOW)  # never answered (the intake recorded a PHQ-9): due now
    reads = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "questionnaires.due.read.portal")
    ).all()
    assert len(reads) == 3
    assert all(r.patient_id == pid for r in reads)
