"""The registry from a real plan and session: course, session, vitals and adverse-event rows in
the research-dataset shape, days counted from the first dosed session."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.interop.deidentify import Deidentifier
from ketaclinic.interop.registry import export_registry
from ketaclinic.services import consents, measurement, planning, safety, screening, sessions
from ketaclinic.storage.tables.planning import PlanSessionRow
from services.screened_patients import STATED_ALL_CLEAR, make_known_patient
from services.session_services import BASELINE, IV, RECOVERED, T0, at, predose_answers, scheduled
from support.clinic import NURSE, PRESCRIBER, context

IV3 = "iv-racemic-thrice-weekly"


def _treated_patient(db: Session) -> str:
    ctx = context(NURSE, T0 - timedelta(days=7))
    patient_id = make_known_patient(db, ctx)
    consents.record_consent(db, ctx, patient_id, "treatment")
    consents.record_consent(db, ctx, patient_id, "research")
    screening.screen_patient(db, ctx, patient_id, "racemic-iv-im", STATED_ALL_CLEAR)
    plan = planning.create_plan(db, context(PRESCRIBER, ctx.now), patient_id, IV3, T0.date())
    measurement.record_questionnaire_response(
        db,
        at(-60),
        patient_id,
        "phq9",
        [3, 3, 2, 2, 2, 2, 2, 1, 1],
        administered_at=T0 - timedelta(days=3),
    )
    first = db.scalars(
        select(PlanSessionRow.id).where(
            PlanSessionRow.plan_id == plan.plan_id, PlanSessionRow.sequence == 1
        )
    ).one()
    sid = scheduled(db, IV, patient_id, plan_session_id=first)
    sessions.check_in(db, at(0), sid)
    sessions.record_observation(db, at(5), sid, "base-1", BASELINE)
    sessions.pass_predose(db, at(10), sid, predose_answers(IV))
    sessions.start_dosing(
        db,
        at(15),
        sid,
        product="ketamine hydrochloride",
        formulation="solution for infusion",
        lot_number="LOT-KET-777",
        dose_mg=35,
        concentration_mg_per_ml=1.0,
        initial_rate_mg_per_h=52.5,
        administered_by=NURSE.display_name,
        supervised_by=PRESCRIBER.display_name,
    )
    sessions.end_dosing(db, at(55), sid)
    for n, minute in enumerate((65, 135, 150), start=1):
        sessions.record_observation(db, at(minute), sid, f"rec-{n}", RECOVERED)
    sessions.mark_ready(db, at(152), sid, escort_present=True)
    sessions.discharge(db, at(155), sid, escort_present=True)
    safety.record_adverse_event_for(
        db,
        at(170),
        {
            "patient_id": patient_id,
            "session_id": sid,
            "verbatim_term": "felt detached",
            "term_id": "dissociation",
            "onset_at": T0 + timedelta(minutes=30),
            "severity": "moderate",
            "relatedness": "probable",
            "action_taken": "dose-not-changed",
            "outcome": "recovering",
        },
    )
    db.commit()
    return patient_id


def test_registry_rows_follow_the_research_dataset(
    db: Session, tmp_path: Path, deidentifier: Deidentifier
) -> None:
    patient_id = _treated_patient(db)
    export_registry(db, at(200), tmp_path / "reg", deidentifier)

    def table(name: str) -> list[dict[str, object]]:
        return pq.read_table(tmp_path / "reg" / name).to_pylist()

    [course] = table("courses")
    assert (course["protocol_id"], course["route"], course["planned_sessions"]) == (IV3, "iv", 6)
    assert course["completed_sessions"] == 1
    assert course["dropped_out"] is False
    # Thrice weekly from Monday 2 March: the sixth induction session is on Friday 13 March.
    assert course["induction_end_day"] == (date(2026, 3, 13) - T0.date()).days
    [session] = table("sessions")
    assert (session["day"], session["status"], session["dose_mg"]) == (0, "discharged", 35.0)
    # Baseline systolic before dosing, then the highest after it.
    assert session["max_systolic_rise_mmhg"] == RECOVERED.systolic_mmhg - BASELINE.systolic_mmhg
    vitals = table("vitals")
    assert [v["minute"] for v in vitals] == [-10, 50, 120, 135]
    [event] = table("adverse_events")
    assert (event["day"], event["term"], event["serious"]) == (0, "dissociation", False)
    # The PHQ-9 three days before the first dose (total 18); the screening one is earlier still.
    [score] = [s for s in table("scores") if s["instrument"] == "phq9" and s["total"] == 18]
    assert (score["day"], score["course_key"]) == (-3, course["course_key"])
    assert patient_id not in str([course, session, event, score])
