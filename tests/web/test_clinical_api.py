"""The JSON API of the clinician pages: screen, override, plan and sign; chart and Today as JSON;
the same refusals as the pages. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from clinic_pages_support import DOCTOR, audit_actions, build
from fastapi.testclient import TestClient
from httpx import Response
from web_support import Clock, csrf_from

from ketaclinic.storage.database import SessionFactory
from services.screened_patients import STATED_ALL_CLEAR, make_known_patient


def _post(client: TestClient, url: str, body: Mapping[str, Any]) -> Response:
    token = csrf_from(client.get("/").text)
    return client.post(url, json=body, headers={"X-CSRF-Token": token})


def test_screen_override_plan_and_sign_through_the_api(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    pid = str(build(session_factory, DOCTOR, clock.now - timedelta(days=1),
                    lambda db, ctx: make_known_patient(db, ctx, sex="F")))  # fmt: skip
    prescriber, nurse = signed_in["prescriber"], signed_in["nurse"]
    statements = dict(STATED_ALL_CLEAR) | {"pregnant": True, "breastfeeding": False}
    screened = _post(prescriber, f"/api/v1/patients/{pid}/screenings",
                     {"treatment": "esketamine-intranasal", "statements": statements})  # fmt: skip
    assert screened.status_code == 201
    decision = screened.json()
    findings = {f["rule_id"]: f for f in decision["decision"]["findings"]}
    assert findings["esketamine-pregnancy"]["rule_class"] == "relative-contraindication"
    assert findings["esketamine-pregnancy"]["citation"]

    url = f"/api/v1/screenings/{decision['screening_id']}/override"
    body = {"rule_ids": ["esketamine-pregnancy"], "reason": "Counselled; benefits outweigh risks."}
    assert _post(nurse, url, body).status_code == 403
    overridden = _post(prescriber, url, body)
    assert overridden.status_code == 201
    redecided = overridden.json()
    assert redecided["supersedes_id"] == decision["screening_id"]
    assert redecided["decision"]["decision"] == "eligible-with-conditions"

    created = _post(prescriber, f"/api/v1/patients/{pid}/plans",
                    {"protocol_id": "esketamine-trd", "start_date": "2026-03-03"})  # fmt: skip
    assert created.status_code == 201
    plan = created.json()
    assert plan["status"] == "draft"
    assert plan["first_dose"]["dose_mg"] == 56  # Spravato label: day 1 56 mg under 65
    assert _post(nurse, f"/api/v1/plans/{plan['plan_id']}/sign", {}).status_code == 403
    signed = _post(prescriber, f"/api/v1/plans/{plan['plan_id']}/sign", {})
    assert signed.json()["status"] == "signed"
    again = _post(prescriber, f"/api/v1/plans/{plan['plan_id']}/sign", {})
    assert again.status_code == 409
    assert "not a draft" in again.json()["error"]

    chart = nurse.get(f"/api/v1/patients/{pid}/chart").json()
    assert chart["current_plan"]["plan_id"] == plan["plan_id"]
    assert chart["trajectories"]["phq9"][0]["total"] == 10  # 2+2+1+2+1+1+1+0+0
    assert "chart.read" in audit_actions(session_factory, pid)
    assert signed_in["researcher"].get(f"/api/v1/patients/{pid}/chart").status_code == 403
    assert signed_in["patient"].get(f"/api/v1/patients/{pid}/chart").status_code == 403


def test_today_and_the_patient_list_as_json(signed_in: dict[str, TestClient]) -> None:
    board = signed_in["nurse"].get("/api/v1/today").json()
    assert board["day"] == "2026-03-02"
    assert board["places"] == []
    assert signed_in["nurse"].get("/api/v1/patients?q=zz").json() == []
    assert signed_in["researcher"].get("/api/v1/patients").status_code == 403
