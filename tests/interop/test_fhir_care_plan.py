"""A treatment plan goes out as a CarePlan with its session calendar; de-identified, shifted."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from interop_fhir_support import assert_references_resolve, read_export
from sqlalchemy.orm import Session

from ketaclinic.interop.deidentify import Deidentifier
from ketaclinic.interop.fhir.export import export_ndjson
from ketaclinic.services import planning, screening
from ketaclinic.services.context import RequestContext
from services.screened_patients import STATED_ALL_CLEAR, make_known_patient
from support.clinic import PRESCRIBER, context

IV3 = "iv-racemic-thrice-weekly"
WED_4_MARCH = date(2026, 3, 4)


def _planned_patient(db: Session, ctx: RequestContext) -> str:
    patient_id = make_known_patient(db, ctx)
    screening.screen_patient(db, ctx, patient_id, "racemic-iv-im", STATED_ALL_CLEAR)
    planning.create_plan(db, context(PRESCRIBER), patient_id, IV3, WED_4_MARCH)
    db.commit()
    return patient_id


def test_a_plan_is_a_care_plan_with_its_calendar(
    db: Session, ctx: RequestContext, tmp_path: Path, deidentifier: Deidentifier
) -> None:
    patient_id = _planned_patient(db, ctx)
    export_ndjson(db, tmp_path / "fhir", [patient_id], transaction_time=ctx.now)
    by_type = read_export(tmp_path / "fhir")
    assert_references_resolve(by_type)
    [plan] = by_type["CarePlan"]
    assert plan["status"] == "draft"
    assert plan["category"][0]["coding"][0]["code"] == IV3
    assert plan["period"]["start"] == "2026-03-04"
    # Thrice weekly from Wednesday 4 March: the six induction dates the planner computes.
    dates = [a["detail"]["scheduledString"] for a in plan["activity"]]
    assert dates == [f"2026-03-{d:02d}" for d in (4, 6, 9, 11, 13, 16)]
    assert {a["detail"]["status"] for a in plan["activity"]} == {"scheduled"}

    export_ndjson(
        db, tmp_path / "deid", [patient_id], deidentifier=deidentifier, transaction_time=ctx.now
    )
    [hidden] = read_export(tmp_path / "deid")["CarePlan"]
    offset = timedelta(days=deidentifier.offset_days(patient_id))
    assert hidden["period"]["start"] == (WED_4_MARCH + offset).isoformat()
    assert PRESCRIBER.display_name not in json.dumps(hidden)
