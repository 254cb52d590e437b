"""The /fhir endpoint, driven by the fhirpy client against the app served by uvicorn on a loopback
port, plus the access-control cases (anonymous, patient, researcher, administrator)."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ResourceNotFound
from interop_clinic import PHQ9_WEEKLY, Clinic, leaks
from sqlalchemy.orm import Session

from ketaclinic.services.audit import AuditFilter, search_events
from ketaclinic.services.context import SYSTEM, RequestContext
from ketaclinic.services.users import create_user
from ketaclinic.settings import Settings
from ketaclinic.storage.database import SessionFactory
from ketaclinic.web.app import create_app
from ketaclinic.web.security.passwords import use_hashing_cost

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@pytest.fixture
def app(
    tmp_path: Path, session_factory: SessionFactory, ctx: RequestContext, clinic: Clinic
) -> FastAPI:
    # Argon2 at production cost is slow on the test machine; the behaviour does not depend on it.
    use_hashing_cost(time_cost=1, memory_cost_kib=1024)
    with session_factory() as db:
        for role in ("nurse", "patient", "researcher", "administrator"):
            create_user(
                db, SYSTEM, email=f"{role}@clinic.example.org", display_name=f"Demo {role}",
                role=role, password=PASSWORD, now=ctx.now,
                patient_id=clinic.consented if role == "patient" else None,
            )  # fmt: skip
        db.commit()
    settings = Settings(data_dir=tmp_path / "data", secret_key="test-secret-key-not-for-production")
    return create_app(settings, session_factory, clock=lambda: ctx.now + timedelta(hours=1))


def _cookie(app: FastAPI, role: str) -> str:
    client = TestClient(app)
    page = client.get("/sign-in")
    token = _CSRF.search(page.text)
    assert token is not None
    response = client.post(
        "/sign-in",
        data={"email": f"{role}@clinic.example.org", "password": PASSWORD,
              "csrf_token": token.group(1), "next": "/"},
        follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 303
    name = app.state.security.session_cookie_name
    return f"{name}={client.cookies[name]}"


@pytest.fixture
def base_url(app: FastAPI) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/fhir"
    server.should_exit = True
    thread.join(timeout=10)


def _client(app: FastAPI, base_url: str, role: str) -> SyncFHIRClient:
    return SyncFHIRClient(base_url, extra_headers={"Cookie": _cookie(app, role)})


def test_metadata_is_an_r4_capability_statement(app: FastAPI, base_url: str) -> None:
    statement = TestClient(app).get("/fhir/metadata").json()
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1"
    kinds = {r["type"] for r in statement["rest"][0]["resource"]}
    assert {"Patient", "Observation", "QuestionnaireResponse", "Consent"} <= kinds
    # The same through a FHIR client, as a client discovering the server would ask.
    fetched = SyncFHIRClient(base_url).execute("metadata", method="get")
    assert fetched["resourceType"] == "CapabilityStatement"
    assert {r["type"] for r in fetched["rest"][0]["resource"]} == kinds


def test_nurse_reads_and_searches_with_fhirpy(
    app: FastAPI, base_url: str, clinic: Clinic, ctx: RequestContext
) -> None:
    client = _client(app, base_url, "nurse")
    patient = client.reference("Patient", clinic.consented).to_resource()
    assert patient["name"][0]["family"] == "Okonkwo-Lindqvist"
    # PHQ-9 totals of one patient, by LOINC code, two to a page: fhirpy follows the next links.
    search = client.resources("Observation").search(
        patient=clinic.consented, code="http://loinc.org|44261-6"
    ).limit(2)  # fmt: skip
    totals = [o["valueQuantity"]["value"] for o in search.fetch_all()]
    assert sorted(totals) == sorted(sum(week) for week in PHQ9_WEEKLY)
    assert search.count() == len(PHQ9_WEEKLY)
    # date: the two later weekly scores only (the first was 21 days before the clinic time).
    since = (ctx.now - timedelta(days=20)).date().isoformat()
    later = client.resources("QuestionnaireResponse").search(
        patient=clinic.consented, date=f"ge{since}"
    ).fetch_all()  # fmt: skip
    assert len(later) == len(PHQ9_WEEKLY) - 1
    with pytest.raises(ResourceNotFound):
        client.reference("Observation", "no-such-id").to_resource()


def test_a_patient_sees_only_their_own_record(app: FastAPI, base_url: str, clinic: Clinic) -> None:
    client = _client(app, base_url, "patient")
    patients = client.resources("Patient").fetch_all()
    assert [p["id"] for p in patients] == [clinic.consented]
    with pytest.raises(ResourceNotFound):
        client.reference("Patient", clinic.elderly).to_resource()
    assert client.resources("Observation").search(patient=clinic.elderly).fetch_all() == []


@pytest.mark.parametrize("role", ["researcher", "administrator"])
def test_researchers_get_consented_patients_deidentified(
    app: FastAPI, base_url: str, clinic: Clinic, role: str
) -> None:
    client = _client(app, base_url, role)
    patients = client.resources("Patient").fetch_all()
    assert len(patients) == 2  # the patient without research consent is left out
    ids = {p["id"] for p in patients}
    assert not ids & {clinic.consented, clinic.elderly, clinic.not_consented}
    text = str([p.serialize() for p in patients])
    assert leaks(text, clinic.identifiers) == []
    with pytest.raises(ResourceNotFound):
        client.reference("Patient", clinic.consented).to_resource()


def test_anonymous_callers_get_401_and_bad_parameters_an_operation_outcome(
    app: FastAPI, base_url: str, db: Session
) -> None:
    anonymous = TestClient(app)
    refused = anonymous.get("/fhir/Patient")
    assert refused.status_code == 401
    assert refused.json()["resourceType"] == "OperationOutcome"
    nurse = TestClient(app, headers={"Cookie": _cookie(app, "nurse")})
    bad_date = nurse.get("/fhir/Observation", params={"date": "last-week"})
    assert bad_date.status_code == 422
    assert "date=last-week" in bad_date.json()["issue"][0]["diagnostics"]
    unknown = nurse.get("/fhir/Spaceship")
    assert unknown.status_code == 404


def test_reads_and_searches_are_audited(
    app: FastAPI, clinic: Clinic, session_factory: SessionFactory
) -> None:
    nurse = TestClient(app, headers={"Cookie": _cookie(app, "nurse")})
    assert nurse.get("/fhir/Condition", params={"patient": clinic.consented}).status_code == 200
    assert nurse.get(f"/fhir/Patient/{clinic.elderly}").status_code == 200
    with session_factory() as db:
        searched = search_events(db, AuditFilter(action="fhir.search"))
        read = search_events(db, AuditFilter(action="fhir.read"))
    assert [(e.patient_id, e.entity_id) for e in searched] == [(clinic.consented, "Condition")]
    assert [(e.patient_id, e.entity_id) for e in read] == [
        (clinic.elderly, f"Patient/{clinic.elderly}")
    ]
    assert json.loads(searched[0].detail_json)["matches"] == 2


def test_patient_everything_with_fhirpy(app: FastAPI, base_url: str, clinic: Clinic) -> None:
    nurse = _client(app, base_url, "nurse")
    bundle = nurse.execute(f"Patient/{clinic.consented}/$everything", method="get")
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {"Patient", "RelatedPerson", "QuestionnaireResponse", "Questionnaire"} <= kinds
    researcher = TestClient(app, headers={"Cookie": _cookie(app, "researcher")})
    hidden = researcher.get(f"/fhir/Patient/{clinic.consented}/$everything")
    assert hidden.status_code == 404
