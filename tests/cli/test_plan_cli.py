"""``ketaclinic plan show`` against a database holding a small demo clinic."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from ketaclinic.cli import app
from ketaclinic.services.context import SYSTEM, RequestContext
from ketaclinic.storage.database import SessionFactory, transaction
from ketaclinic.storage.tables.planning import TreatmentPlanRow
from ketaclinic.synthetic.demo import load_demo

runner = CliRunner()


def test_plan_show_prints_screenings_and_plans_by_clinic_number(
    database_url: str, session_factory: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_of = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
    with transaction(session_factory) as db:
        load_demo(db, RequestContext(actor=SYSTEM, now=as_of), seed=5, patients_count=2)
    monkeypatch.setenv("KETACLINIC_DATABASE_URL", database_url)

    result = runner.invoke(app, ["plan", "show", "DEMO-5-002"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    with session_factory() as db:
        stored = db.scalars(
            select(TreatmentPlanRow).where(TreatmentPlanRow.patient_id == shown["patient_id"])
        ).all()
    assert shown["mrn"] == "DEMO-5-002"
    assert shown["synthetic"] is True
    assert {p["plan_id"] for p in shown["plans"]} == {p.id for p in stored}
    assert shown["screenings"]
    for plan in shown["plans"]:
        assert all(s["weekday"] not in ("Sat", "Sun") for s in plan["sessions"])

    missing = runner.invoke(app, ["plan", "show", "DEMO-5-999"])
    assert missing.exit_code == 3
    assert "No patient" in missing.output
