"""Bulk NDJSON export: every line re-parsed with fhir.resources, every reference resolvable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from interop_clinic import PHQ9_WEEKLY, Clinic
from interop_fhir_support import assert_references_resolve, read_export, references
from sqlalchemy.orm import Session

from ketaclinic.interop.deidentify import Deidentifier
from ketaclinic.interop.fhir.codes import BASE
from ketaclinic.interop.fhir.export import export_ndjson, patient_bundle
from ketaclinic.interop.fhir.source import all_patient_ids
from ketaclinic.services.context import RequestContext
from ketaclinic.services.observations import record_observation
from support.treated_course import RESPONDING_PHQ9, treated_patient

LOCAL_PREFIX = f"{BASE}/CodeSystem/"


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
    # FHIR's rule for a Bundle: a reference resolves to the entry whose fullUrl it names. Every
    # one does, and the patient's resources all point at the one Patient entry.
    full_urls = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    assert all(url.startswith("urn:uuid:") for url in full_urls)
    found = [ref for e in bundle["entry"] for ref in references(e["resource"])]
    assert found
    for reference in found:
        if not reference.startswith("#"):
            assert reference in full_urls, reference
    patient_url = bundle["entry"][0]["fullUrl"]
    subjects = {
        e["resource"]["subject"]["reference"] for e in bundle["entry"] if "subject" in e["resource"]
    }
    assert subjects == {patient_url}
    assert full_urls[patient_url]["id"] == clinic.consented


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


def _codings(value: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        if isinstance(value.get("system"), str) and "code" in value:
            found.append(value)
        for item in value.values():
            found += _codings(item)
    elif isinstance(value, list):
        for item in value:
            found += _codings(item)
    return found


def test_every_local_code_is_defined_by_a_code_system_in_the_export(
    db: Session, ctx: RequestContext, clinic: Clinic, tmp_path: Path
) -> None:
    treated_patient(db, later_phq9=RESPONDING_PHQ9)
    # A measurement the clinic coded itself (no LOINC): its own system, not ketaclinic's.
    record_observation(db, ctx, clinic.consented, "urine-dipstick-protein", 1, "{score}", ctx.now)
    db.commit()
    out = tmp_path / "fhir"
    export_ndjson(db, out, all_patient_ids(db), transaction_time=ctx.now)
    by_type = read_export(out)
    systems = {c["url"]: c for c in by_type["CodeSystem"]}
    used = [
        coding
        for kind, rows in by_type.items()
        if kind != "CodeSystem"
        for resource in rows
        for coding in _codings(resource)
        if coding["system"].startswith(LOCAL_PREFIX)
    ]
    assert {c["system"] for c in used} >= {
        f"{LOCAL_PREFIX}ketaclinic", f"{LOCAL_PREFIX}session-state", f"{LOCAL_PREFIX}route",
        f"{LOCAL_PREFIX}adverse-event-term", f"{LOCAL_PREFIX}clinic-observation",
    }  # fmt: skip
    for coding in used:
        system = systems.get(coding["system"])
        assert system is not None, f"no CodeSystem for {coding['system']}"
        if system["content"] == "complete":
            codes = {c["code"] for c in system["concept"]}
            assert coding["code"] in codes, f"{coding['system']}|{coding['code']}"
        else:
            assert system["content"] == "not-present"
    dipstick = [c for c in used if c["code"] == "urine-dipstick-protein"]
    assert {c["system"] for c in dipstick} == {f"{LOCAL_PREFIX}clinic-observation"}
    # R4 invariant ppc-1: every Consent carries a policy or a policyRule.
    assert by_type["Consent"]
    assert all("policy" in c or "policyRule" in c for c in by_type["Consent"])
