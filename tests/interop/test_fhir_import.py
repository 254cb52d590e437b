"""Import of QuestionnaireResponse and vital-sign Observations: matched to patient and instrument,
all or nothing per file, refusals naming the resource and the reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from interop_clinic import Clinic
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaclinic.errors import InvalidInput
from ketaclinic.interop.fhir.codes import MRN_SYSTEM
from ketaclinic.interop.fhir.importer import import_fhir_file
from ketaclinic.services.context import RequestContext
from ketaclinic.services.measurement import item_answers
from ketaclinic.storage.tables.measurements import ObservationRow, QuestionnaireResponseRow

CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
LOINC_URL = "http://loinc.org"
WHEN = "2026-03-01T10:15:00+00:00"
# The other system's PHQ-9 uses LOINC item codes as linkIds and LOINC's form URL.
PHQ9_LOINC_ITEMS = (
    "44250-9",
    "44255-8",
    "44259-0",
    "44254-1",
    "44251-7",
    "44258-2",
    "44252-5",
    "44253-3",
    "44260-8",
)


def _phq9(rid: str, answers: list[int], mrn: str = "KC-900789") -> dict[str, Any]:
    return {
        "resourceType": "QuestionnaireResponse",
        "id": rid,
        "status": "completed",
        "questionnaire": "http://loinc.org/q/44249-1",
        "authored": WHEN,
        "subject": {"identifier": {"system": MRN_SYSTEM, "value": mrn}},
        "item": [
            {"linkId": code, "answer": [{"valueInteger": value}]}
            for code, value in zip(PHQ9_LOINC_ITEMS, answers, strict=True)
        ],
    }


def _bp(rid: str, systolic: float, diastolic: float, unit: str = "mm[Hg]") -> dict[str, Any]:
    def component(code: str, value: float) -> dict[str, Any]:
        return {
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "valueQuantity": {
                "value": value,
                "unit": unit,
                "system": "http://unitsofmeasure.org",
                "code": unit,
            },
        }

    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "subject": {"identifier": {"system": MRN_SYSTEM, "value": "KC-900789"}},
        "effectiveDateTime": WHEN,
        "component": [component("8480-6", systolic), component("8462-4", diastolic)],
    }


def _write_ndjson(tmp_path: Path, resources: list[dict[str, Any]]) -> Path:
    path = tmp_path / "incoming.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in resources) + "\n", encoding="utf-8")
    return path


def _counts(db: Session) -> tuple[int, int]:
    responses = db.scalar(select(func.count()).select_from(QuestionnaireResponseRow))
    observations = db.scalar(select(func.count()).select_from(ObservationRow))
    return int(responses or 0), int(observations or 0)


def test_a_good_file_is_imported_through_the_scoring_engine(
    db: Session, ctx: RequestContext, clinic: Clinic, tmp_path: Path
) -> None:
    answers = [2, 1, 3, 0, 1, 2, 1, 0, 1]
    path = _write_ndjson(tmp_path, [_phq9("ext-1", answers), _bp("ext-bp", 132, 84)])
    summary = import_fhir_file(db, ctx, path)
    db.commit()
    assert (summary.questionnaire_responses, summary.vital_sign_sets) == (1, 1)
    stored = db.scalars(
        select(QuestionnaireResponseRow).where(
            QuestionnaireResponseRow.patient_id == clinic.not_consented
        )
    ).one()
    assert stored.instrument_id == "phq9"
    assert stored.total == sum(answers)
    assert list(item_answers(db, stored.id).values()) == answers
    vitals = db.scalars(
        select(ObservationRow).where(
            ObservationRow.patient_id == clinic.not_consented, ObservationRow.method == "import"
        )
    ).all()
    assert sorted((v.kind, v.value) for v in vitals) == [
        ("diastolic_mmhg", 84),
        ("systolic_mmhg", 132),
    ]
    # Importing the same file again adds nothing.
    again = import_fhir_file(db, ctx, path)
    assert again.already_imported == 2


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (_phq9("ext-2", [1] * 9, mrn="KC-000000"), "no patient has the clinic number KC-000000"),
        (
            {**_phq9("ext-3", [1] * 9), "questionnaire": "http://example.org/Questionnaire/mood"},
            "not an instrument ketaclinic knows",
        ),
        (_phq9("ext-4", [1, 1, 1, 1, 1, 1, 1, 1, 7]), "ext-4"),
        (_bp("ext-bp2", 17.6, 11.2, unit="kPa"), "send it in UCUM 'mm[Hg]'"),
        (
            {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/x"}},
            "only QuestionnaireResponse and vital-sign Observation",
        ),
        ({"resourceType": "Observation", "id": "broken", "status": "final"}, "not valid FHIR R4"),
    ],
)
def test_one_bad_resource_refuses_the_whole_file(
    db: Session,
    ctx: RequestContext,
    clinic: Clinic,
    tmp_path: Path,
    bad: dict[str, Any],
    message: str,
) -> None:
    before = _counts(db)
    path = _write_ndjson(tmp_path, [_phq9("ext-ok", [0] * 9), _bp("ext-ok-bp", 120, 80), bad])
    with pytest.raises(InvalidInput) as refused:
        import_fhir_file(db, ctx, path)
    db.commit()
    assert message in refused.value.message
    assert "line 3" in refused.value.message
    assert "Nothing from this file was imported" in refused.value.message
    assert _counts(db) == before


# LOINC answer list LL358-3 (data/loinc_answers.yaml): value 0..3.
LA = ("LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9")
OTHER_MRN_SYSTEM = "urn:oid:2.16.840.1.113883.19.5.99999.1"


def _stored_answers(db: Session, patient_id: str) -> list[list[float]]:
    rows = db.scalars(
        select(QuestionnaireResponseRow)
        .where(QuestionnaireResponseRow.patient_id == patient_id)
        .order_by(QuestionnaireResponseRow.administered_at)
    ).all()
    return [list(item_answers(db, row.id).values()) for row in rows]


def test_loinc_form_with_coded_answers_groups_and_a_total_is_imported(
    db: Session, ctx: RequestContext, clinic: Clinic, tmp_path: Path
) -> None:
    answers = [2, 1, 3, 0, 1, 2, 1, 0, 1]
    coded = [
        {"linkId": f"/{code}", "answer": [{"valueCoding": {"system": LOINC_URL, "code": LA[v]}}]}
        for code, v in zip(PHQ9_LOINC_ITEMS, answers, strict=True)
    ]
    form = _phq9("ext-coded", [0] * 9)
    # Items 1-5 in one group, 6-9 in another, then LOINC's total-score item.
    form["item"] = [
        {"linkId": "group-1", "item": coded[:5]},
        {"linkId": "group-2", "item": coded[5:]},
        {"linkId": "/44261-6", "answer": [{"valueInteger": sum(answers)}]},
    ]
    summary = import_fhir_file(db, ctx, _write_ndjson(tmp_path, [form]))
    assert summary.questionnaire_responses == 1
    assert _stored_answers(db, clinic.not_consented) == [answers]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # A total that disagrees with the answers: the other system scored differently.
        (
            lambda f: f["item"].append({"linkId": "/44261-6", "answer": [{"valueInteger": 26}]}),
            "says 26 but its answers add up to 9",
        ),
        # An LA code outside the item's answers.
        (
            lambda f: f["item"][0].update(
                answer=[{"valueCoding": {"system": LOINC_URL, "code": "LA33-6"}}]
            ),
            "LOINC answer code LA33-6 is not one ketaclinic maps",
        ),
        (
            lambda f: f["item"][0].update(
                answer=[{"valueCoding": {"system": "http://example.org/answers", "code": "a"}}]
            ),
            "cannot be mapped",
        ),
    ],
)
def test_answers_that_do_not_map_exactly_are_refused(
    db: Session, ctx: RequestContext, clinic: Clinic, tmp_path: Path, change: Any, message: str
) -> None:
    form = _phq9("ext-bad", [1] * 9)
    change(form)
    with pytest.raises(InvalidInput, match=message):
        import_fhir_file(db, ctx, _write_ndjson(tmp_path, [form]))
    assert _stored_answers(db, clinic.not_consented) == []


def _external_patient(pid: str, mrn: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [
            {"system": "urn:oid:2.16.840.1.113883.4.1", "value": "999-00-1234"},
            {"system": OTHER_MRN_SYSTEM, "value": mrn},
        ],
    }


def test_subject_matched_through_a_patient_in_the_same_bundle(
    db: Session, ctx: RequestContext, clinic: Clinic, tmp_path: Path
) -> None:
    form = _phq9("ext-b1", [1] * 9)
    form["subject"] = {"reference": "urn:uuid:7e0d1b8e-0000-4000-8000-000000000001"}
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:7e0d1b8e-0000-4000-8000-000000000001",
             "resource": _external_patient("other-7", "KC-900789")},
            {"fullUrl": "urn:uuid:7e0d1b8e-0000-4000-8000-000000000002", "resource": form},
        ],
    }  # fmt: skip
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    # The other system's identifier system is not configured: refused, naming what is accepted.
    with pytest.raises(InvalidInput, match="matches no patient of this clinic"):
        import_fhir_file(db, ctx, path)
    summary = import_fhir_file(db, ctx, path, mrn_systems=[OTHER_MRN_SYSTEM])
    assert (summary.questionnaire_responses, summary.patients_matched) == (1, 1)
    assert _stored_answers(db, clinic.not_consented) == [[1] * 9]


def test_a_bulk_export_folder_from_another_system(
    db: Session, ctx: RequestContext, clinic: Clinic, tmp_path: Path
) -> None:
    folder = tmp_path / "bulk"
    folder.mkdir()
    form = _phq9("ext-q", [0, 1, 0, 1, 0, 1, 0, 1, 0])
    form["subject"] = {"reference": "Patient/other-7"}
    bp = _bp("ext-v", 118, 76)
    bp["subject"] = {"reference": "https://ehr.example.org/fhir/Patient/other-7"}
    score = {
        "resourceType": "Observation", "id": "ext-score", "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "survey"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
        "subject": {"reference": "Patient/other-7"}, "effectiveDateTime": WHEN,
        "valueInteger": 4,
    }  # fmt: skip
    lab = {**score, "id": "ext-lab",
           "category": [{"coding": [{"system": CATEGORY, "code": "laboratory"}]}]}  # fmt: skip
    files = {
        "Patient": [_external_patient("other-7", "KC-900789")],
        "QuestionnaireResponse": [form],
        "Observation": [bp, score, lab],
        "Condition": [{"resourceType": "Condition", "id": "c1"}],
    }
    for kind, resources in files.items():
        (folder / f"{kind}.ndjson").write_text(
            "\n".join(json.dumps(r) for r in resources) + "\n", encoding="utf-8"
        )
    summary = import_fhir_file(db, ctx, folder, mrn_systems=[OTHER_MRN_SYSTEM])
    assert (summary.questionnaire_responses, summary.vital_sign_sets) == (1, 1)
    skipped = " ".join(summary.skipped)
    assert "score Observation" in skipped
    assert "laboratory" in skipped
    assert "Condition.ndjson" in skipped
    assert sum(summary.skipped.values()) == 3
