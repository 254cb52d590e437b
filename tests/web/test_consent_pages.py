"""Consents on the intake page and through the API: recorded with who and when, withdrawn with
a reason, refused with the message beside the field; on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from clinic_pages_support import audit_actions, post_form
from fastapi.testclient import TestClient
from web_support import csrf_from

from ketaclinic.storage.database import SessionFactory


def _register(client: TestClient) -> str:
    response = post_form(client, "/patients", {
        "given_name": "Rowan", "family_name": "Ellis", "date_of_birth": "1979-02-11", "sex": "F",
    })  # fmt: skip
    match = re.fullmatch(r"/patients/([0-9a-f-]+)/intake", response.headers["location"])
    assert match is not None
    return match.group(1)


def test_consents_are_recorded_shown_and_withdrawn_on_the_intake_page(
    signed_in: dict[str, TestClient], session_factory: SessionFactory
) -> None:
    nurse = signed_in["nurse"]
    pid = _register(nurse)
    base = f"/patients/{pid}/intake"
    page = nurse.get(base).text
    assert "No treatment consent in force" in page
    assert "No consent recorded yet." in page

    refused = post_form(nurse, f"{base}/consents", {"kind": "", "document_ref": "scan-17"})
    assert refused.status_code == 422
    assert 'id="f-kind-error"' in refused.text
    assert "Choose which consent the patient signed." in refused.text
    assert 'name="document_ref" type="text" value="scan-17"' in refused.text
    future = post_form(
        nurse, f"{base}/consents", {"kind": "treatment", "given_at": "2026-03-03T09:00"}
    )
    assert future.status_code == 422
    assert 'id="f-given_at-error"' in future.text

    saved = post_form(nurse, f"{base}/consents", {
        "kind": "treatment", "given_at": "2026-03-02T08:40", "obtained_by": "Dr Ada Byrne",
        "document_ref": "scan-17",
    })  # fmt: skip
    assert saved.status_code == 303
    assert post_form(nurse, f"{base}/consents", {"kind": "rems-enrolment"}).status_code == 303
    page = nurse.get(base).text
    assert "Consent recorded." not in page  # only after the redirect's own query
    assert "No treatment consent in force" not in page
    assert "Signed 2026-03-02 08:40 UTC, obtained by Dr Ada Byrne; recorded by Demo Nurse" in page
    assert "SPRAVATO REMS patient enrolment (esketamine)</strong>: <span" in page

    again = post_form(nurse, f"{base}/consents", {"kind": "treatment"})
    assert again.status_code == 422
    assert "already has an active treatment consent" in again.text

    consent_id = re.search(rf"{base}/consents/([0-9a-f-]+)/withdraw", page)
    assert consent_id is not None
    withdrawn = post_form(
        nurse, f"{base}/consents/{consent_id.group(1)}/withdraw", {"reason": "Moving away."}
    )
    assert withdrawn.status_code == 303
    page = nurse.get(f"{base}?saved=consent-withdrawn").text
    assert "Consent withdrawn." in page
    assert "by Demo Nurse: Moving away." in page
    assert {"consent.record", "consent.withdraw", "consent.read"} <= set(
        audit_actions(session_factory, pid)
    )


def test_the_consent_api_twins_the_page(signed_in: dict[str, TestClient]) -> None:
    prescriber = signed_in["prescriber"]
    pid = _register(prescriber)
    headers = {"X-CSRF-Token": csrf_from(prescriber.get("/").text)}
    created = prescriber.post(
        f"/api/v1/patients/{pid}/consents",
        json={"kind": "research", "document_ref": "RC-4"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["kind"], body["status"], body["obtained_by"]) == (
        "research", "active", "Demo Prescriber",
    )  # fmt: skip
    bad = prescriber.post(
        f"/api/v1/patients/{pid}/consents", json={"kind": "marketing"}, headers=headers
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "kind"
    withdrawn = prescriber.post(
        f"/api/v1/consents/{body['consent_id']}/withdraw", json={}, headers=headers
    )
    assert withdrawn.json()["status"] == "withdrawn"
    listed = prescriber.get(f"/api/v1/patients/{pid}/consents").json()
    assert [c["consent_id"] for c in listed] == [body["consent_id"]]
    researcher = signed_in["researcher"]
    assert researcher.get(f"/api/v1/patients/{pid}/consents").status_code == 403
    schema = prescriber.get("/openapi.json").json()["paths"]
    assert "post" in schema["/api/v1/patients/{patient_id}/consents"]
    assert "post" in schema["/api/v1/consents/{consent_id}/withdraw"]
