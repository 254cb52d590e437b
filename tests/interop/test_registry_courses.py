"""The registry from a real plan and session: course, session, vitals and adverse-event rows in
the research-dataset shape, days counted from the first dosed session."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from ketaclinic.interop.deidentify import Deidentifier
from ketaclinic.interop.registry import export_registry
from services.session_services import BASELINE, RECOVERED, T0, at
from support.treated_course import IV3, treated_patient


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
