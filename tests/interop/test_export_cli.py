"""The export and import commands end to end on the configured database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from interop_clinic import Clinic
from typer.testing import CliRunner

from ketaclinic.cli import app
from ketaclinic.interop.deidentify import KEY_FILE_NAME

runner = CliRunner()


@pytest.fixture
def configured(
    monkeypatch: pytest.MonkeyPatch, database_url: str, clinic: Clinic, tmp_path: Path
) -> Path:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("KETACLINIC_DATABASE_URL", database_url)
    monkeypatch.setenv("KETACLINIC_DATA_DIR", str(data_dir))
    return data_dir


def test_export_commands_write_every_format(
    configured: Path, clinic: Clinic, tmp_path: Path
) -> None:
    fhir = runner.invoke(
        app,
        [
            "export",
            "fhir",
            "--out",
            str(tmp_path / "fhir"),
            "--no-progress",
            "--patient",
            clinic.consented,
        ],
    )
    assert fhir.exit_code == 0, fhir.output
    assert json.loads(fhir.stdout)["patients"] == 1
    everything = json.loads((tmp_path / "fhir" / "everything.json").read_text())
    assert everything["resourceType"] == "Bundle"
    omop = runner.invoke(
        app,
        [
            "export",
            "omop",
            "--out",
            str(tmp_path / "omop"),
            "--format",
            "parquet",
            "--deidentified",
            "--no-progress",
        ],
    )
    assert omop.exit_code == 0, omop.output
    assert json.loads(omop.stdout)["rows"]["person"] == 2
    registry = runner.invoke(
        app, ["export", "registry", "--out", str(tmp_path / "reg"), "--no-progress"]
    )
    assert registry.exit_code == 0, registry.output
    summary = json.loads(registry.stdout)
    assert summary["patients"] == 2
    assert summary["left_out_without_research_consent"] == 1
    # The secret stays in the data folder and never in an export.
    assert (configured / KEY_FILE_NAME).exists()
    for folder in ("fhir", "omop", "reg"):
        assert not list((tmp_path / folder).rglob(KEY_FILE_NAME))


def test_deidentified_export_refuses_a_patient_without_research_consent(
    configured: Path, clinic: Clinic, tmp_path: Path
) -> None:
    result = runner.invoke(
        app,
        [
            "export",
            "fhir",
            "--out",
            str(tmp_path / "x"),
            "--deidentified",
            "--patient",
            clinic.not_consented,
            "--no-progress",
        ],
    )
    assert result.exit_code == 2
    assert "no research consent" in result.stderr


def test_import_reports_what_it_did_and_refuses_with_exit_2(
    configured: Path, clinic: Clinic, tmp_path: Path
) -> None:
    good = tmp_path / "good.json"
    good.write_text(
        json.dumps(
            {
                "resourceType": "Observation",
                "id": "hr-1",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                "subject": {"reference": f"Patient/{clinic.elderly}"},
                "effectiveDateTime": "2026-03-01T08:00:00Z",
                "valueQuantity": {
                    "value": 64,
                    "unit": "/min",
                    "system": "http://unitsofmeasure.org",
                    "code": "/min",
                },
            }
        )
    )
    done = runner.invoke(app, ["import", "fhir", str(good)])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["vital_sign_sets"] == 1
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {"resourceType": "Observation", "id": "x", "status": "final", "code": {"text": "mood"}}
        )
    )
    refused = runner.invoke(app, ["import", "fhir", str(bad)])
    assert refused.exit_code == 2
    assert "Observation/x" in refused.stderr
