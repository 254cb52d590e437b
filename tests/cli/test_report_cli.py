"""``ketaclinic report cohort`` and ``ketaclinic synthetic cohort`` from the command line, and
the report on a clinic's own database (clinic -> registry -> report) on both databases."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from ketaclinic.cli import app
from ketaclinic.storage.tables.access import AuditEvent
from support.treated_course import RESPONDING_PHQ9, treated_patient

runner = CliRunner()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("network")
    result = runner.invoke(
        app,
        [
            "synthetic",
            "cohort",
            "--patients",
            "1500",
            "--out",
            str(out),
            "--seed",
            "3",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"]["patients"] == 1500
    return out


def test_writes_a_self_contained_html_and_a_pdf(dataset: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["report", "cohort", "--data", str(dataset), "--out", str(tmp_path / "cohort.html")]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    html = Path(summary["html"]).read_text(encoding="utf-8")
    assert Path(summary["pdf"]).read_bytes().startswith(b"%PDF")
    # Self-contained: figures inline, nothing fetched from elsewhere.
    assert html.count("data:image/png;base64,") >= 5
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "Han Y" in html  # the comparison panel names its sources
    assert summary["verdicts"]["mcinnes2022-real-world-response"] in {"in line", "above", "below"}


def test_a_data_path_that_is_not_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    result = runner.invoke(app, ["report", "cohort", "--data", str(missing), "--out", "r"])
    assert result.exit_code == 2
    assert "--data" in result.output
    assert "leave --data out" in result.output


def test_unknown_engine_names_the_allowed_ones(dataset: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "report",
            "cohort",
            "--data",
            str(dataset),
            "--out",
            str(tmp_path / "r"),
            "--engine",
            "oracle",
        ],
    )
    assert result.exit_code == 2
    assert "duckdb, spark" in result.output


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> Path:
    """The CLI pointed at the test database; returns its data folder (the secret lives there)."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("KETACLINIC_DATABASE_URL", database_url)
    monkeypatch.setenv("KETACLINIC_DATA_DIR", str(data_dir))
    return data_dir


def _report(tmp_path: Path, *options: str) -> tuple[dict[str, Any], str]:
    result = runner.invoke(app, ["report", "cohort", "--out", str(tmp_path / "report"), *options])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    return summary, Path(summary["html"]).read_text(encoding="utf-8")


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def test_reports_on_the_clinic_database_without_data(
    db: Session, configured: Path, tmp_path: Path, engine: str
) -> None:
    # No adverse event and no score after the first dose: no responder, empty safety tables.
    patient_id = treated_patient(db, adverse_event=False)
    treated_patient(db, research_consent=False, date_of_birth="1970-05-05")
    summary, html = _report(tmp_path, "--engine", engine)
    assert (summary["engine"], summary["patients"]) == (engine, 1)
    assert Path(summary["pdf"]).read_bytes().startswith(b"%PDF")
    assert "De-identified registry of clinic site site-1" in html
    assert "1 without one were left out" in html
    assert set(summary["verdicts"].values()) == {"no clinic data"}
    assert "No adverse event recorded" in html
    assert patient_id not in html
    # The run is in the audit trail; nothing of the registry stays behind.
    runs = db.scalars(select(AuditEvent).where(AuditEvent.action == "report.cohort")).all()
    assert [json.loads(r.detail_json)["patients"] for r in runs] == [1]
    assert not list(configured.glob("**/*.parquet"))


def test_an_empty_clinic_still_gets_a_report(db: Session, configured: Path, tmp_path: Path) -> None:
    summary, html = _report(tmp_path)
    assert summary["patients"] == 0
    assert "0 patients" in html


def test_clinic_registry_and_report_agree_end_to_end(
    db: Session, configured: Path, tmp_path: Path
) -> None:
    treated_patient(db, later_phq9=RESPONDING_PHQ9)
    treated_patient(db, adverse_event=False, date_of_birth="1990-01-01")
    registry = tmp_path / "registry"
    exported = runner.invoke(app, ["export", "registry", "--out", str(registry), "--no-progress"])
    assert exported.exit_code == 0, exported.output
    from_registry, _ = _report(tmp_path / "a", "--data", str(registry))
    from_clinic, html = _report(tmp_path / "b")
    assert from_clinic["patients"] == from_registry["patients"] == 2
    assert from_clinic["verdicts"] == from_registry["verdicts"]
    assert from_clinic["verdicts"]["mcinnes2022-real-world-response"] != "no clinic data"
    # The responding course scored PHQ-9 on days 1 and 14 (day 14: its end-of-induction window).
    scores = pq.read_table(registry / "scores").to_pylist()
    assert {s["day"] for s in scores if s["instrument"] == "phq9"} >= {-3, 1, 14}
    assert "dissociation" in html
