"""The research page: the cohort report of the clinic's own database for administrators and
researchers (the same verdicts as ``ketaclinic report cohort``), its PDF, the registry download,
the JSON twin; refused to clinical roles and patients; every view and download audited."""

from __future__ import annotations

import html
import io
import json
import re
import zipfile
from datetime import timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from web_support import Clock

from ketaclinic.interop.deidentify import Deidentifier, load_or_create_secret
from ketaclinic.interop.registry import temporary_registry
from ketaclinic.reports.cohort import CohortReport, build_report
from ketaclinic.services import consents
from ketaclinic.services.context import RequestContext
from ketaclinic.storage.database import SessionFactory
from ketaclinic.storage.tables.access import AuditEvent
from ketaclinic.storage.tables.consents import ConsentRow
from services.session_services import T0
from support.clinic import NURSE, context
from support.treated_course import RESPONDING_PHQ9, treated_patient

READERS = ("administrator", "researcher")
REFUSED = ("prescriber", "nurse", "patient")


@pytest.fixture
def clinic(session_factory: SessionFactory, clock: Clock) -> dict[str, str]:
    """Two research-consented treated patients (one responding) and one without consent; the
    clock moves past the course before anyone signs in (tests ask for this fixture first)."""
    with session_factory() as db:
        ids = {
            "responding": treated_patient(db, later_phq9=RESPONDING_PHQ9),
            "other": treated_patient(db, adverse_event=False, date_of_birth="1990-01-01"),
            "no_consent": treated_patient(db, research_consent=False, date_of_birth="1966-06-06"),
        }
    clock.now = T0 + timedelta(days=20)
    return ids


def _cli_report(app: FastAPI, session_factory: SessionFactory, clock: Clock) -> CohortReport:
    """What ``ketaclinic report cohort`` (no --data) computes on the same database and secret."""
    key = Deidentifier(load_or_create_secret(app.state.settings.data_dir), as_of=clock.now.date())
    ctx = RequestContext(NURSE, clock.now)
    with session_factory() as db, temporary_registry(db, ctx, key) as registry:
        return build_report(registry.out_dir)


def _actions(session_factory: SessionFactory) -> list[tuple[str, str]]:
    with session_factory() as db:
        rows = db.scalars(select(AuditEvent).order_by(AuditEvent.sequence)).all()
        return [(r.actor_role, r.action) for r in rows]


def test_readers_see_the_same_verdicts_as_the_command_line(
    clinic: dict[str, str],
    app: FastAPI,
    signed_in: dict[str, TestClient],
    session_factory: SessionFactory,
    clock: Clock,
) -> None:
    expected = _cli_report(app, session_factory, clock)
    assert expected.results.patients == 2
    verdicts = list(expected.comparison[["label", "verdict"]].itertuples(index=False))
    assert {verdict for _, verdict in verdicts} != {"no clinic data"}
    for role in READERS:
        page = signed_in[role].get("/research")
        assert page.status_code == 200
        assert page.text.count("<h1") == 1
        assert "2 patients with a research consent in force" in page.text
        for label, verdict in verdicts:
            row = re.search(rf"<tr><td>{re.escape(html.escape(label))}</td>.*?</tr>", page.text)
            assert row is not None, label
            assert f">{verdict}</td></tr>" in row.group(0), label
        # Nothing identifying: no record id of any patient.
        for patient_id in clinic.values():
            assert patient_id not in page.text
        assert (role, "report.cohort.read") in _actions(session_factory)


def test_clinical_roles_and_patients_are_refused(
    clinic: dict[str, str], signed_in: dict[str, TestClient]
) -> None:
    for role in REFUSED:
        for path in ("/research", "/research/cohort.pdf", "/research/registry.zip"):
            assert signed_in[role].get(path).status_code == 403, (role, path)
        assert signed_in[role].get("/api/v1/research/cohort").status_code == 403, role


def test_home_pages_list_the_research_page(signed_in: dict[str, TestClient]) -> None:
    for role in READERS:
        assert 'href="/research"' in signed_in[role].get("/").text
    for role in REFUSED:
        assert 'href="/research"' not in signed_in[role].get("/").text


def test_the_registry_downloads_hold_only_consented_patients(
    clinic: dict[str, str],
    signed_in: dict[str, TestClient],
    session_factory: SessionFactory,
    tmp_path: Path,
) -> None:
    researcher = signed_in["researcher"]
    parquet = researcher.get("/research/registry.zip?format=parquet")
    assert parquet.status_code == 200
    assert parquet.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(parquet.content)) as archive:
        archive.extractall(tmp_path / "pq")
    patients = pq.read_table(tmp_path / "pq" / "patients").to_pylist()
    assert len(patients) == 2
    provenance = json.loads((tmp_path / "pq" / "dataset.json").read_text())
    assert provenance["left_out_without_research_consent"] == 1
    sessions = pq.read_table(tmp_path / "pq" / "sessions").to_pylist()
    assert {s["status"] for s in sessions} == {"discharged"}
    csv = researcher.get("/research/registry.zip?format=csv")
    with zipfile.ZipFile(io.BytesIO(csv.content)) as archive:
        names = sorted(archive.namelist())
        text = "".join(archive.read(n).decode() for n in names)
    assert "patients.csv" in names
    assert "adverse_events.csv" in names
    assert "dissociation" in text
    for patient_id in clinic.values():
        assert patient_id not in text
    wrong = researcher.get("/research/registry.zip?format=xlsx")
    assert wrong.status_code == 422
    assert "parquet, csv" in wrong.text
    actions = _actions(session_factory)
    assert actions.count(("researcher", "research.registry.download")) == 2


def test_pdf_json_twin_and_rebuild(
    clinic: dict[str, str], signed_in: dict[str, TestClient], session_factory: SessionFactory
) -> None:
    admin = signed_in["administrator"]
    pdf = admin.get("/research/cohort.pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    api = admin.get("/api/v1/research/cohort").json()
    assert (api["patients"], api["left_out_without_research_consent"]) == (2, 1)
    mcinnes = next(
        r for r in api["comparison"] if r["benchmark_id"] == "mcinnes2022-real-world-response"
    )
    # The responding course has a PHQ-9 in the end-of-induction window; the other has none.
    assert (mcinnes["clinic_events"], mcinnes["clinic_n"]) == (1, 1)
    assert ("administrator", "report.cohort.pdf") in _actions(session_factory)
    page = admin.get("/research")
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert token is not None
    done = admin.post(
        "/research/rebuild", data={"csrf_token": token.group(1)}, follow_redirects=False
    )
    assert done.status_code == 303
    assert ("administrator", "report.cohort.rebuild") in _actions(session_factory)


def test_a_withdrawn_research_consent_leaves_the_report_at_the_next_view(
    clinic: dict[str, str],
    signed_in: dict[str, TestClient],
    session_factory: SessionFactory,
    clock: Clock,
) -> None:
    researcher = signed_in["researcher"]
    assert researcher.get("/api/v1/research/cohort").json()["patients"] == 2
    with session_factory() as db:
        research = db.scalars(
            select(ConsentRow).where(
                ConsentRow.patient_id == clinic["other"], ConsentRow.kind == "research"
            )
        ).one()
        consents.withdraw_consent(db, context(NURSE, clock.now), research.id)
        db.commit()
    clock.advance(minutes=1)
    assert researcher.get("/api/v1/research/cohort").json()["patients"] == 1
