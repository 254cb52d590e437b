"""A supervised session goes out as Encounter, MedicationAdministration (dose, route, lot),
AdverseEvent (suspect: that administration) and Flag; de-identified without staff or places."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from interop_fhir_support import assert_references_resolve, read_export
from sqlalchemy.orm import Session

from ketaclinic.interop.deidentify import Deidentifier
from ketaclinic.interop.fhir import server
from ketaclinic.interop.fhir.export import export_ndjson
from ketaclinic.interop.omop import export_omop
from ketaclinic.services import consents, safety
from services.session_services import BASELINE, IV, T0, at, discharged, new_patient
from support.clinic import NURSE, PRESCRIBER


def _session_with_serious_event(db: Session) -> tuple[str, str]:
    patient_id = new_patient(db)
    consents.record_consent(db, at(-30), patient_id, "research")
    session_id = discharged(db, IV, patient_id)
    safety.record_adverse_event_for(
        db,
        at(170),
        {
            "patient_id": patient_id,
            "session_id": session_id,
            "verbatim_term": "chest pain, admitted overnight",
            "term_id": "other",
            "onset_at": T0 + timedelta(minutes=30),
            "severity": "severe",
            "seriousness": ["hospitalisation"],
            "relatedness": "possible",
            "action_taken": "dose-not-changed",
            "outcome": "recovering",
        },
    )
    db.commit()
    return patient_id, session_id


def _one(by_type: dict[str, list[dict[str, Any]]], kind: str) -> dict[str, Any]:
    assert len(by_type[kind]) == 1, kind
    return by_type[kind][0]


def test_session_resources_carry_period_dose_route_and_lot(db: Session, tmp_path: Path) -> None:
    patient_id, session_id = _session_with_serious_event(db)
    export_ndjson(db, tmp_path / "fhir", [patient_id], transaction_time=at(200).now)
    by_type = read_export(tmp_path / "fhir")
    assert_references_resolve(by_type)
    encounter = _one(by_type, "Encounter")
    assert encounter["status"] == "finished"
    # Check-in at 09:00, discharge at 11:35 (the session helper's timeline).
    assert datetime.fromisoformat(encounter["period"]["start"]) == T0
    assert datetime.fromisoformat(encounter["period"]["end"]) == T0 + timedelta(minutes=155)
    given = _one(by_type, "MedicationAdministration")
    assert given["context"]["reference"] == f"Encounter/{session_id}"
    assert given["contained"][0]["batch"]["lotNumber"] == "LOT-KET-777"
    assert given["dosage"]["route"]["coding"][0]["code"] == "iv"
    assert given["dosage"]["dose"]["value"] == 35
    assert given["dosage"]["rateQuantity"]["value"] == 52.5
    event = _one(by_type, "AdverseEvent")
    assert event["seriousness"]["coding"][0]["code"] == "serious"
    assert event["suspectEntity"][0]["instance"]["reference"] == (
        f"MedicationAdministration/{session_id}"
    )
    assert _one(by_type, "Flag")["status"] == "active"


def test_deidentified_sessions_lose_staff_places_and_free_text(
    db: Session, tmp_path: Path, deidentifier: Deidentifier
) -> None:
    patient_id, _ = _session_with_serious_event(db)
    out = tmp_path / "deid"
    export_ndjson(db, out, [patient_id], deidentifier=deidentifier, transaction_time=at(200).now)
    by_type = read_export(out)
    assert_references_resolve(by_type)
    text = "\n".join(json.dumps(r) for rows in by_type.values() for r in rows)
    for secret in (
        NURSE.display_name,
        PRESCRIBER.display_name,
        "Chair 2",
        "Room A",
        "chest pain",
        "Alex",
        "Morgan",
        patient_id,
    ):
        assert secret not in text
    offset = timedelta(days=deidentifier.offset_days(patient_id))
    start = datetime.fromisoformat(_one(by_type, "Encounter")["period"]["start"])
    assert start == T0 + offset


def test_session_readings_are_observations_of_the_encounter(db: Session, tmp_path: Path) -> None:
    patient_id, session_id = _session_with_serious_event(db)
    export_ndjson(db, tmp_path / "fhir", [patient_id], transaction_time=at(200).now)
    observations = read_export(tmp_path / "fhir")["Observation"]
    in_session = [
        o for o in observations if o.get("encounter") == {"reference": f"Encounter/{session_id}"}
    ]
    panels = [o for o in in_session if o["code"]["coding"][0]["code"] == "85354-9"]
    # Baseline at 09:05 and recovered readings at 10:05, 11:15 and 11:30: four BP panels.
    assert [datetime.fromisoformat(p["effectiveDateTime"]) for p in panels] == [
        T0 + timedelta(minutes=m) for m in (5, 65, 135, 150)
    ]
    baseline = {
        c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"] for c in panels[0]["component"]
    }
    assert baseline == {"8480-6": BASELINE.systolic_mmhg, "8462-4": BASELINE.diastolic_mmhg}
    sedation = [o for o in in_session if o["code"]["coding"][0]["code"] == "moaas"]
    assert sedation[0]["category"][0]["coding"][0]["code"] == "survey"
    assert sedation[0]["valueQuantity"]["value"] == BASELINE.moaas


def test_omop_has_the_session_visit_and_the_ketamine_exposure(db: Session, tmp_path: Path) -> None:
    patient_id, _ = _session_with_serious_event(db)
    export_omop(db, tmp_path / "omop", [patient_id], as_of=T0.date())
    with (tmp_path / "omop" / "visit_occurrence.csv").open() as handle:
        visits = list(csv.DictReader(handle))
    session_visit = next(v for v in visits if v["visit_source_value"].startswith("session:"))
    assert session_visit["visit_start_datetime"] == "2026-03-02 09:00:00"
    assert session_visit["visit_end_datetime"] == "2026-03-02 11:35:00"
    with (tmp_path / "omop" / "drug_exposure.csv").open() as handle:
        ketamine = next(d for d in csv.DictReader(handle) if d["lot_number"])
    assert (ketamine["lot_number"], ketamine["route_source_value"], ketamine["quantity"]) == (
        "LOT-KET-777",
        "iv",
        "35.0",
    )
    assert ketamine["visit_occurrence_id"] == session_visit["visit_occurrence_id"]
    with (tmp_path / "omop" / "measurement.csv").open() as handle:
        systolic = [m for m in csv.DictReader(handle) if m["measurement_source_value"] == "8480-6"]
    in_visit = [
        m for m in systolic if m["visit_occurrence_id"] == session_visit["visit_occurrence_id"]
    ]
    assert len(in_visit) == 4


def test_sessions_are_searchable_by_date(db: Session) -> None:
    patient_id, session_id = _session_with_serious_event(db)
    view = server.FhirView(None, None, identified=True)
    on_the_day = server.search(db, view, "Encounter", patient=patient_id, dates=["eq2026-03-02"])
    assert [e["id"] for e in on_the_day] == [session_id]
    assert server.search(db, view, "MedicationAdministration", dates=["gt2026-03-02"]) == []
    events = server.search(db, view, "AdverseEvent", dates=["ge2026-03-02", "le2026-03-02"])
    assert len(events) == 1
