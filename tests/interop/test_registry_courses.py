"""The registry from real plans and sessions: course, session, vitals and adverse-event rows in
the research-dataset shape, days counted from the first dosed session; induction end, drop-out
(stopped or lost to follow-up) and each score's course."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.interop.deidentify import Deidentifier
from ketaclinic.interop.registry import export_registry
from ketaclinic.services import measurement, planning
from ketaclinic.storage.tables.planning import TreatmentPlanRow
from services.session_services import BASELINE, RECOVERED, T0, at
from support.clinic import NURSE, PRESCRIBER, context
from support.treated_course import (
    BASELINE_PHQ9,
    IV3,
    RESPONDING_PHQ9,
    give_session,
    plan_entry,
    treated_patient,
)


def test_registry_rows_follow_the_research_dataset(
    db: Session, tmp_path: Path, deidentifier: Deidentifier
) -> None:
    patient_id = treated_patient(db)
    export_registry(db, at(200), tmp_path / "reg", deidentifier)

    def table(name: str) -> list[dict[str, object]]:
        return pq.read_table(tmp_path / "reg" / name).to_pylist()

    [course] = table("courses")
    assert (course["protocol_id"], course["route"], course["planned_sessions"]) == (IV3, "iv", 6)
    assert course["completed_sessions"] == 1
    # Five induction sessions are still to come on the calendar: not a drop-out (yet).
    assert course["dropped_out"] is False
    # The induction so far ends with the last session that took place (day 0).
    assert course["induction_end_day"] == 0
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


def _table(folder: Path, name: str) -> list[dict[str, Any]]:
    return pq.read_table(folder / name).to_pylist()


def test_a_patient_lost_to_follow_up_dropped_out(
    db: Session, tmp_path: Path, deidentifier: Deidentifier
) -> None:
    patient_id = treated_patient(db)
    plan_id = db.scalars(
        select(TreatmentPlanRow.id).where(TreatmentPlanRow.patient_id == patient_id)
    ).one()
    give_session(db, patient_id, plan_entry(db, plan_id, 2), day=2)
    # Exported a month later: the four other induction sessions passed without the patient;
    # the plan was never stopped.
    export_registry(db, context(NURSE, T0 + timedelta(days=30)), tmp_path / "reg", deidentifier)
    [course] = _table(tmp_path / "reg", "courses")
    assert (course["planned_sessions"], course["completed_sessions"]) == (6, 2)
    assert course["dropped_out"] is True
    # The induction ended with the last session held (day 2), not the calendar's (day 11).
    assert course["induction_end_day"] == 2
    # Stopping it says the same.
    planning.stop_plan(db, context(PRESCRIBER, T0 + timedelta(days=3)), plan_id, "moved away")
    db.commit()
    export_registry(db, context(NURSE, T0 + timedelta(days=4)), tmp_path / "stop", deidentifier)
    [stopped] = _table(tmp_path / "stop", "courses")
    assert (stopped["planned_sessions"], stopped["dropped_out"]) == (6, True)


def test_scores_belong_to_the_course_whose_window_holds_them(
    db: Session, tmp_path: Path, deidentifier: Deidentifier
) -> None:
    patient_id = treated_patient(db, later_phq9={1: RESPONDING_PHQ9[1], 40: BASELINE_PHQ9})
    first_plan = db.scalars(
        select(TreatmentPlanRow.id).where(TreatmentPlanRow.patient_id == patient_id)
    ).one()
    doctor = context(PRESCRIBER, T0 + timedelta(days=35))
    planning.stop_plan(db, doctor, first_plan, "relapsed after a pause")
    start = (T0 + timedelta(days=42)).date()
    second = planning.create_plan(db, doctor, patient_id, IV3, start)
    planning.sign_plan(db, doctor, second.plan_id)
    db.commit()
    give_session(db, patient_id, plan_entry(db, second.plan_id, 1), day=42)
    measurement.record_questionnaire_response(
        db, at(43 * 24 * 60 + 60), patient_id, "phq9", list(RESPONDING_PHQ9[1]),
        administered_at=T0 + timedelta(days=43),
    )  # fmt: skip
    db.commit()
    export_registry(db, context(NURSE, T0 + timedelta(days=50)), tmp_path / "reg", deidentifier)
    courses = sorted(_table(tmp_path / "reg", "courses"), key=lambda c: c["induction_end_day"])
    keys = {c["course_key"] for c in courses}
    assert len(keys) == 2
    scores = _table(tmp_path / "reg", "scores")
    by_course: dict[str, list[int]] = {}
    for score in scores:
        if score["instrument"] == "phq9":
            by_course.setdefault(score["course_key"], []).append(score["day"])
    # First course (day 0 = 2 March): the screening and baseline scores before it, day 1, day
    # 40 (after its sessions, before the second course began); second (day 0 = 13 April): day 1.
    assert sorted(sorted(days) for days in by_course.values()) == [[-7, -3, 1, 40], [1]]
    assert set(by_course) == keys
