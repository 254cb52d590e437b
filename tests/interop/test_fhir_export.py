"""Bulk NDJSON export: every line re-parsed with fhir.resources, every reference resolvable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from interop_clinic import PHQ9_WEEKLY, Clinic
from interop_fhir_support import assert_references_resolve, read_export, references
from sqlalchemy.orm import Session

from ketaclinic.interop.deidentify import Deidentifier
from ketaclinic.interop.fhir.export import export_ndjson, patient_bundle
from ketaclinic.interop.fhir.source import all_patient_ids
from ketaclinic.services.context import RequestContext


def test_bulk_export_parses_and_resolves(
    db: Session, ctx: RequestContext, clinic: Clinic, tmp_path: Path
) -> None:
    out = tmp_path / "fhir"
    ticks: list[int] = []
    summary = export_ndjson(
        db, out, all_patient_ids(db), transaction_time=ctx.now, progress=ticks.append
    )
    by_type = read_export(out)
    assert summary.patients == 3
    assert sum(ticks) == 3
    assert {r["id"] for r in by_type["Patient"]} == {
        clinic.consented,
        clinic.elderly,
        clinic.not_consented,
    }
    assert_references_resolve(by_type)
    manifest = json.loads((out / "manifest.json").read_text())
    assert {o["type"]: o["count"] for o in manifest["output"]} == {
        k: len(v) for k, v in by_type.items()
    }
    # The audit trail goes out as AuditEvents about each patient (identified exports only).
    registrations = [
        a for a in by_type["AuditEvent"] if a["subtype"][0]["code"] == "patient.register"
    ]
    assert sorted(a["entity"][0]["what"]["reference"] for a in registrations) == sorted(
        f"Patient/{p}" for p in (clinic.consented, clinic.elderly, clinic.not_consented)
    )
    assert {a["action"] for a in registrations} == {"C"}
    # The escort is a RelatedPerson of the first patient.
    assert [r["name"][0]["text"] for r in by_type["RelatedPerson"]] == ["Bartholomew Lindqvist"]


def test_vitals_use_the_vital_signs_profiles(
    db: Session, ctx: RequestContext, clinic: Clinic, tmp_path: Path
) -> None:
    by_type = _read_export_of(db, ctx, clinic.consented, tmp_path)
    vitals = [
        o for o in by_type["Observation"] if o["category"][0]["coding"][0]["code"] == "vital-signs"
    ]
    panels = [o for o in vitals if o["code"]["coding"][0]["code"] == "85354-9"]
    assert len(panels) == 1
    components = {
        c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"] for c in panels[0]["component"]
    }
    assert components == {"8480-6": 128, "8462-4": 82}
    assert panels[0]["meta"]["profile"] == ["http://hl7.org/fhir/StructureDefinition/bp"]
    singles = {
        o["code"]["coding"][0]["code"]: o["valueQuantity"] for o in vitals if o not in panels
    }
    # The diastolic goes out inside the panel only, never a second time on its own.
    assert "8462-4" not in singles
    assert "8480-6" not in singles
    assert singles["8867-4"]["value"] == 71
    assert singles["8867-4"]["code"] == "/min"
    assert singles["29463-7"]["value"] == 64.5
    assert singles["59408-5"]["value"] == 98
    spo2 = next(o for o in vitals if o["code"]["coding"][0]["code"] == "59408-5")
    assert {c["code"] for c in spo2["code"]["coding"]} == {"59408-5", "2708-6"}


def test_score_observations_derive_from_their_responses(
    db: Session, ctx: RequestContext, clinic: Clinic, tmp_path: Path
) -> None:
    by_type = _read_export_of(db, ctx, clinic.consented, tmp_path)
    responses = {r["id"]: r for r in by_type["QuestionnaireResponse"]}
    scores = [
        o for o in by_type["Observation"] if o["category"][0]["coding"][0]["code"] == "survey"
    ]
    assert len(scores) == len(PHQ9_WEEKLY)
    for observation in scores:
        source = responses[observation["derivedFrom"][0]["reference"].split("/")[1]]
        item_sum = sum(i["answer"][0]["valueInteger"] for i in source["item"])
        assert observation["valueQuantity"]["value"] == item_sum
        assert (
            observation["code"]["coding"][0]
            == {"system": "http://loinc.org", "code": "44261-6", "display": "PHQ-9 total score"}
            or observation["code"]["coding"][0]["code"] == "44261-6"
        )
    totals = sorted(o["valueQuantity"]["value"] for o in scores)
    assert totals == sorted(sum(week) for week in PHQ9_WEEKLY)


def test_patient_bundle_holds_everything_of_one_patient(
    db: Session, ctx: RequestContext, clinic: Clinic
) -> None:
    bundle = patient_bundle(db, clinic.consented, timestamp=ctx.now).model_dump(mode="json")
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds[0] == "Patient"
    assert kinds.count("Patient") == 1
    assert {
        "RelatedPerson",
        "Condition",
        "MedicationStatement",
        "AllergyIntolerance",
        "Observation",
        "QuestionnaireResponse",
        "Questionnaire",
        "Consent",
    } <= set(kinds)
    subjects = {
        ref
        for e in bundle["entry"]
        for ref in references(e["resource"])
        if ref.startswith("Patient/")
    }
    assert subjects == {f"Patient/{clinic.consented}"}


def test_deidentified_export_resolves_too(
    db: Session, ctx: RequestContext, clinic: Clinic, tmp_path: Path, deidentifier: Deidentifier
) -> None:
    out = tmp_path / "deid"
    export_ndjson(db, out, all_patient_ids(db), deidentifier=deidentifier, transaction_time=ctx.now)
    by_type = read_export(out)
    assert_references_resolve(by_type)
    assert "RelatedPerson" not in by_type
    assert "AuditEvent" not in by_type


def _read_export_of(
    db: Session, ctx: RequestContext, patient_id: str, tmp_path: Path
) -> dict[str, list[dict[str, Any]]]:
    out = tmp_path / patient_id
    export_ndjson(db, out, [patient_id], transaction_time=ctx.now)
    return read_export(out)
