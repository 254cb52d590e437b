"""Every page action has a JSON API twin under /api/v1, in the OpenAPI schema; and the twins added
for registration and intake, the session monitor's steps, the REMS form, the portal and the
administration pages do what their pages do. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from session_pages import RECOVERED, make_patient
from web_support import Clock, csrf_from

from ketaclinic.storage.database import SessionFactory, transaction
from ketaclinic.web.deps import api_routes
from services.session_services import ESK, IV, T0, checked_in, discharged, new_patient

# Every page POST and its API twin(s). A page action added later fails the first test until its
# twin is written and listed here.
PAGE_TWINS: dict[str, tuple[str, ...]] = {
    "POST /admin/users": ("POST /api/v1/users",),
    "POST /admin/patients/invite": ("POST /api/v1/users/patient-invitations",),
    "POST /admin/users/{user_id}/deactivate": ("POST /api/v1/users/{user_id}/deactivate",),
    "POST /admin/users/{user_id}/reactivate": ("POST /api/v1/users/{user_id}/reactivate",),
    "POST /admin/users/{user_id}/reset-password": ("POST /api/v1/users/{user_id}/reset-password",),
    "POST /admin/users/{user_id}/details": ("PATCH /api/v1/users/{user_id}",),
    "POST /admin/users/{user_id}/role": ("POST /api/v1/users/{user_id}/role",),
    "POST /admin/policy": ("POST /api/v1/policy/{protocol_kind}",),
    "POST /admin/policy/outcomes": ("POST /api/v1/outcome-definitions",),
    "POST /admin/policy/protocols": ("POST /api/v1/protocol-settings/{protocol_id}",),
    "POST /admin/policy/protocols/rule-class": ("POST /api/v1/screening-rule-classes/{rule_id}",),
    "POST /patients": ("POST /api/v1/patients",),
    "POST /patients/{patient_id}/intake/diagnoses": (
        "POST /api/v1/patients/{patient_id}/diagnoses",
    ),
    "POST /patients/{patient_id}/intake/diagnoses/ruled-out": (
        "POST /api/v1/patients/{patient_id}/ruled-out-conditions",
    ),
    "POST /patients/{patient_id}/intake/medications": (
        "POST /api/v1/patients/{patient_id}/medications",
    ),
    "POST /patients/{patient_id}/intake/trials": (
        "POST /api/v1/patients/{patient_id}/antidepressant-trials",
    ),
    "POST /patients/{patient_id}/intake/allergies": (
        "POST /api/v1/patients/{patient_id}/allergies",
    ),
    "POST /patients/{patient_id}/intake/vitals": ("POST /api/v1/patients/{patient_id}/vitals",),
    "POST /patients/{patient_id}/intake/consents": ("POST /api/v1/patients/{patient_id}/consents",),
    "POST /patients/{patient_id}/intake/consents/{consent_id}/withdraw": (
        "POST /api/v1/consents/{consent_id}/withdraw",
    ),
    "POST /patients/{patient_id}/intake/questionnaires/{instrument_id}": (
        "POST /api/v1/patients/{patient_id}/questionnaires/{instrument_id}",
    ),
    "POST /patients/{patient_id}/intake/screening": (
        "POST /api/v1/patients/{patient_id}/screenings",
    ),
    "POST /patients/{patient_id}/intake/screening/{screening_id}/override": (
        "POST /api/v1/screenings/{screening_id}/override",
    ),
    "POST /patients/{patient_id}/plans": ("POST /api/v1/patients/{patient_id}/plans",),
    "POST /plans/{plan_id}/sign": ("POST /api/v1/plans/{plan_id}/sign",),
    "POST /plans/{plan_id}/bookings": ("POST /api/v1/plans/{plan_id}/sessions",),
    "POST /sessions/{session_id}/reschedule": ("POST /api/v1/sessions/{session_id}/reschedule",),
    "POST /patients/{patient_id}/safety/tasks/{task_id}/complete": (
        "POST /api/v1/tasks/{task_id}/complete",
    ),
    "POST /patients/{patient_id}/safety/flags/{flag_id}/resolve": (
        "POST /api/v1/flags/{flag_id}/resolve",
    ),
    "POST /patients/{patient_id}/safety/adverse-events": (
        "POST /api/v1/patients/{patient_id}/adverse-events",
    ),
    "POST /patients/{patient_id}/safety/bladder-screens": (
        "POST /api/v1/patients/{patient_id}/bladder-screens",
    ),
    "POST /patients/{patient_id}/safety/misuse-signals": (
        "POST /api/v1/patients/{patient_id}/misuse-signals",
    ),
    "POST /portal/questionnaires/{instrument_id}": (
        "POST /api/v1/portal/questionnaires/{instrument_id}",
    ),
    "POST /research/rebuild": ("POST /api/v1/research/cohort/rebuild",),
    # The monitor: check-in, end of dosing, mark ready, discharge and sign are /steps.
    "POST /sessions/{session_id}/check-in": ("POST /api/v1/sessions/{session_id}/steps",),
    "POST /sessions/{session_id}/no-show": ("POST /api/v1/sessions/{session_id}/no-show",),
    "POST /sessions/{session_id}/abort": ("POST /api/v1/sessions/{session_id}/abort",),
    "POST /sessions/{session_id}/predose": (
        "POST /api/v1/sessions/{session_id}/predose/evaluate",
        "POST /api/v1/sessions/{session_id}/predose/pass",
    ),
    "POST /sessions/{session_id}/dosing/start": ("POST /api/v1/sessions/{session_id}/dosing",),
    "POST /sessions/{session_id}/dosing/event": (
        "POST /api/v1/sessions/{session_id}/dosing/events",
    ),
    "POST /sessions/{session_id}/dosing/end": ("POST /api/v1/sessions/{session_id}/steps",),
    "POST /sessions/{session_id}/readings": ("POST /api/v1/sessions/{session_id}/readings",),
    "POST /sessions/{session_id}/alerts/{alert_id}/acknowledge": (
        "POST /api/v1/sessions/{session_id}/alerts/{alert_id}/acknowledge",
    ),
    "POST /sessions/{session_id}/discharge": (
        "POST /api/v1/sessions/{session_id}/steps",
        "POST /api/v1/sessions/{session_id}/resume-monitoring",
    ),
    "POST /sessions/{session_id}/sign": ("POST /api/v1/sessions/{session_id}/steps",),
    "POST /sessions/{session_id}/addenda": ("POST /api/v1/sessions/{session_id}/addenda",),
    "POST /sessions/{session_id}/rems": (
        "POST /api/v1/sessions/{session_id}/rems-form/answers",
        "POST /api/v1/sessions/{session_id}/rems-form/finalise",
        "POST /api/v1/sessions/{session_id}/rems-form/submission",
    ),
}
# Browser-session mechanics: an API client signs in once and sends the session cookie.
NO_TWIN = {
    "POST /sign-in": "signing in is how an API client gets its session cookie",
    "POST /sign-out": "the same form ends the session for the browser and the API client",
    "POST /set-password/{token}": "a person's single-use link, opened in a browser",
    "POST /session/keep-alive": "the idle warning's button: any API call is activity",
}
# Page reads whose data the API also answers (the rest are listed in docs/web.md).
READ_TWINS = {
    "GET /portal": ("GET /api/v1/portal/progress", "GET /api/v1/portal/upcoming-sessions",
                    "GET /api/v1/portal/questionnaires-due"),
    "GET /patients/{patient_id}/intake/screening": (
        "GET /api/v1/patients/{patient_id}/screenings",
        "GET /api/v1/patients/{patient_id}/screenings/current",
    ),
    "GET /sessions/{session_id}/rems": ("GET /api/v1/sessions/{session_id}/rems-form",),
    "GET /admin/audit/export": ("GET /api/v1/audit/export",),
    "GET /admin/audit": ("GET /api/v1/audit/events", "GET /api/v1/audit/verify"),
    "GET /admin/permissions": ("GET /api/v1/permissions",),
    "GET /today": ("GET /api/v1/today",),
}  # fmt: skip


def _routes(app: FastAPI) -> set[str]:
    return {f"{r.method} {r.path}" for r in api_routes(app)}


def test_every_page_action_has_an_api_twin_in_the_openapi_schema(app: FastAPI) -> None:
    routes = _routes(app)
    page_posts = {
        r for r in routes if r.split(" ")[0] != "GET" and not r.split(" ")[1].startswith("/api/")
    }
    unlisted = sorted(page_posts - set(PAGE_TWINS) - set(NO_TWIN))
    assert unlisted == [], "page actions without an API twin listed in PAGE_TWINS"
    assert sorted(set(PAGE_TWINS) - page_posts) == [], "PAGE_TWINS lists pages that are gone"
    schema = app.openapi()["paths"]
    for page, twins in (PAGE_TWINS | READ_TWINS).items():
        assert page in routes, page
        for twin in twins:
            method, path = twin.split(" ")
            assert twin in routes, f"{page}: {twin} is not a route"
            assert method.lower() in schema.get(path, {}), f"{twin} is not in the OpenAPI schema"
            assert path.startswith("/api/v1/"), twin


def test_the_admin_api_is_under_v1_and_its_old_paths_still_answer(
    signed_in: dict[str, TestClient], app: FastAPI
) -> None:
    admin = signed_in["administrator"]
    assert admin.get("/api/v1/me").json() == admin.get("/api/me").json()
    assert admin.get("/api/v1/audit/verify").json()["ok"] is True
    schema = app.openapi()["paths"]
    assert schema["/api/me"]["get"]["deprecated"] is True
    assert "deprecated" not in schema["/api/v1/me"]["get"]


def _headers(client: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": csrf_from(client.get("/").text)}


def _post(client: TestClient, path: str, body: dict[str, Any], status: int = 201) -> Any:
    response = client.post(path, json=body, headers=_headers(client))
    assert response.status_code == status, response.text
    return response.json()


def test_registration_intake_and_the_screening_decision_through_the_api(
    signed_in: dict[str, TestClient],
) -> None:
    nurse, prescriber = signed_in["nurse"], signed_in["prescriber"]
    person = {"given_name": "Ada", "family_name": "Quill", "date_of_birth": "1979-06-01",
              "sex": "F"}  # fmt: skip
    made = _post(nurse, "/api/v1/patients", {"identity": person, "mrn": "KC-API-0001"})
    pid = made["patient_id"]
    assert made["mrn"] == "KC-API-0001"
    taken = _post(nurse, "/api/v1/patients", {"identity": person, "mrn": "KC-API-0001"}, 422)
    assert taken["field"] == "mrn"
    base = f"/api/v1/patients/{pid}"
    _post(nurse, f"{base}/diagnoses", {"condition": "mdd"})
    _post(nurse, f"{base}/diagnoses", {"condition": "trd"})
    assert len(_post(nurse, f"{base}/ruled-out-conditions", {"conditions": ["psychosis",
              "bipolar-depression"]})) == 2  # fmt: skip
    _post(nurse, f"{base}/medications", {"drug_name": "sertraline", "dose_amount": 100,
                                          "dose_unit": "mg"})  # fmt: skip
    for drug in ("sertraline", "venlafaxine"):
        trial = {"drug": drug, "dose_mg_per_day": 150, "duration_weeks": 8,
                 "outcome": "no-response"}  # fmt: skip
        _post(nurse, f"{base}/antidepressant-trials", trial)
    _post(nurse, f"{base}/allergies", {"substance": "latex", "severity": "mild"})
    one_bp = _post(nurse, f"{base}/vitals", {"values": {"systolic_mmhg": 128}}, 422)
    assert one_bp["field"] == "diastolic_mmhg"
    _post(nurse, f"{base}/vitals", {"values": {"weight_kg": 70, "systolic_mmhg": 128,
                                               "diastolic_mmhg": 82}})  # fmt: skip
    phq9 = _post(nurse, f"{base}/questionnaires/phq9",
                 {"answers": {f"q{i}": 2 for i in range(1, 10)} | {"q9": 0}})  # fmt: skip
    assert phq9["result"]["total"] == 16
    bad = _post(nurse, f"{base}/allergies", {"substance": ""}, 422)
    assert "substance" in str(bad)
    chart = nurse.get(f"{base}/chart").json()
    assert chart["summary"]["mrn"] == "KC-API-0001"
    assert prescriber.get(f"{base}/screenings/current", params={"treatment":
                          "racemic-iv-im"}).json() is None  # fmt: skip
    decision = _post(prescriber, f"{base}/screenings", {"treatment": "racemic-iv-im"})
    current = prescriber.get(f"{base}/screenings/current", params={"treatment": "racemic-iv-im"})
    assert current.json()["screening_id"] == decision["screening_id"]
    listed = prescriber.get(f"{base}/screenings").json()
    assert [s["screening_id"] for s in listed] == [decision["screening_id"]]
    assert signed_in["researcher"].get(f"{base}/screenings").status_code == 403


def test_the_monitor_s_steps_through_the_api(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    """Check-in by the services, then the checklist, dosing, devices, end, ready, discharge,
    sign and an addendum through the API; an abort and a no-show on two other sessions."""
    clock.now = T0 + timedelta(minutes=8)
    with transaction(session_factory) as db:
        sid = checked_in(db, ESK)
        other = checked_in(db, IV)
    nurse, prescriber = signed_in["nurse"], signed_in["prescriber"]
    base = f"/api/v1/sessions/{sid}"
    answers = {"identity_confirmed": True, "escort_confirmed": True, "transport_confirmed": True,
               "last_food_at": (T0 - timedelta(hours=3)).isoformat(),
               "last_liquid_at": (T0 - timedelta(hours=1)).isoformat(),
               "pregnancy_status": "not-pregnant"}  # fmt: skip
    other_base = f"/api/v1/sessions/{other}"
    short = _post(prescriber, f"{other_base}/abort", {"reason": "no"}, 422)
    assert short is not None
    assert _post(prescriber, f"{other_base}/abort", {"reason": "patient unwell, sent home"},
                 200)["state"] == "aborted"  # fmt: skip
    partial = _post(nurse, f"{base}/predose/evaluate", {"identity_confirmed": True}, 200)
    assert partial["passed"] is False
    assert any(i["status"] != "passed" for i in partial["items"])
    refused = _post(nurse, f"{base}/predose/pass", {"identity_confirmed": True}, 409)
    assert refused["error"]
    checked = _post(nurse, f"{base}/predose/evaluate", answers, 200)
    assert checked["passed"] is True, [i for i in checked["items"] if i["status"] != "passed"]
    assert _post(nurse, f"{base}/predose/pass", answers, 200)["state"] == "predose-passed"
    clock.now = T0 + timedelta(minutes=15)
    wrong_dose = _post(nurse, f"{base}/dosing", {
        "product": "SPRAVATO", "formulation": "nasal spray 28 mg device", "lot_number": "LOT-1",
        "dose_mg": 84}, 409)  # fmt: skip
    assert wrong_dose["error"]
    started = _post(nurse, f"{base}/dosing", {
        "product": "SPRAVATO", "formulation": "nasal spray 28 mg device", "lot_number": "LOT-1",
        "dose_mg": 56})  # fmt: skip
    assert started["state"] == "dosing"
    _post(nurse, f"{base}/dosing/events", {"kind": "device", "device_mg": 28})
    clock.now = T0 + timedelta(minutes=20)
    events = _post(nurse, f"{base}/dosing/events", {"kind": "device", "device_mg": 28})
    assert len(events["record"]["dosing"]["events"]) == 2
    assert _post(nurse, f"{base}/steps", {"step": "end-dosing"}, 200)["state"] == "monitoring"
    recovered = {k: float(v) for k, v in RECOVERED.items()}
    for minute in range(30, 150, 10):  # a reading every 10 minutes keeps the nurse signed in
        clock.now = T0 + timedelta(minutes=minute)
        _post(nurse, f"{base}/readings", {"measures": recovered})
    ready = {"step": "mark-ready", "escort_present": True}
    assert _post(nurse, f"{base}/steps", ready, 200)["state"] == "ready-for-discharge"
    back = _post(nurse, f"{base}/resume-monitoring", {"reason": "felt dizzy standing up"}, 200)
    assert back["state"] == "monitoring"
    clock.now = T0 + timedelta(minutes=150)
    _post(nurse, f"{base}/readings", {"measures": recovered})
    assert _post(nurse, f"{base}/steps", ready, 200)["state"] == "ready-for-discharge"
    gone = _post(nurse, f"{base}/steps", {"step": "discharge", "escort_present": True}, 200)
    assert gone["state"] == "discharged"
    _post(nurse, f"{base}/steps", {"step": "sign"}, 200)
    added = _post(nurse, f"{base}/addenda", {"text": "Lot number confirmed with pharmacy."})
    assert added["record"]["signature"]["by"] == "Demo Nurse"
    assert added["record"]["addenda"][0]["text"] == "Lot number confirmed with pharmacy."
    with transaction(session_factory) as db:
        missed = checked_in(db, IV, new_patient(db))
    assert _post(nurse, f"/api/v1/sessions/{missed}/no-show", {}, 409)["error"]  # checked in


def test_the_rems_form_is_read_answered_finalised_and_submitted_through_the_api(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    with transaction(session_factory) as db:
        sid = discharged(db, ESK)
    nurse = signed_in["nurse"]
    base = f"/api/v1/sessions/{sid}/rems-form"
    form = nurse.get(base).json()
    assert form["status"] == "due"
    assert form["due_date"] == "2026-03-09"
    assert "setting_name" in form["missing"]
    early = _post(nurse, f"{base}/finalise", {}, 409)
    assert "missing" in early["error"]
    wrong = _post(nurse, f"{base}/answers", {"answers": {"setting_name": ["not", "text"]}}, 422)
    assert wrong["field"] == "setting_name"
    answers: dict[str, Any] = {
        name: True if name.startswith(("vitals_", "enrolled")) else "answered"
        for name in form["missing"]
    }
    answers |= {"monitoring_hcp_email": "nora@clinic.example.org"} if (
        "monitoring_hcp_email" in answers) else {}  # fmt: skip
    filled = _post(nurse, f"{base}/answers", {"answers": answers}, 200)
    assert filled["missing"] == [], filled["missing"]
    assert _post(nurse, f"{base}/finalise", {}, 200)["form"]["finalised_by"]
    sent = _post(nurse, f"{base}/submission", {"reference": "REMS-123"}, 200)
    assert (sent["status"], sent["form"]["submission_reference"]) == ("submitted", "REMS-123")


def test_the_portal_progress_and_upcoming_sessions_through_the_api(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    make_patient(session_factory, clock)
    patient = signed_in["patient"]
    _post(patient, "/api/v1/portal/questionnaires/phq9",
          {"answers": {f"q{i}": 1 for i in range(1, 10)} | {"q9": 0}})  # fmt: skip
    mine = patient.get("/api/v1/portal/progress").json()
    phq9 = next(i for i in mine["instruments"] if i["instrument_id"] == "phq9")
    assert [p["total"] for p in phq9["points"]] == [8]
    assert phq9["in_plain_words"][0].startswith("Your latest PHQ-9 score is 8 out of 27")
    upcoming = patient.get("/api/v1/portal/upcoming-sessions").json()
    assert upcoming == {"clinic_timezone": "UTC", "sessions": []}
    assert signed_in["nurse"].get("/api/v1/portal/progress").status_code == 403


def test_account_actions_and_the_audit_export_through_the_api(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    admin = signed_in["administrator"]
    people = {a["role"]: a["id"] for a in admin.get("/api/v1/users").json()}
    nurse = people["nurse"]
    assert _post(admin, f"/api/v1/users/{nurse}/deactivate", {}, 200)["active"] is False
    assert signed_in["nurse"].get("/api/v1/me").status_code == 401  # signed out at once
    assert _post(admin, f"/api/v1/users/{nurse}/reactivate", {}, 200)["active"] is True
    link = _post(admin, f"/api/v1/users/{nurse}/reset-password", {}, 200)
    assert link["set_password_path"].startswith("/set-password/")
    assert _post(admin, f"/api/v1/users/{nurse}/role", {"role": "prescriber"}, 200)["role"] == (
        "prescriber")  # fmt: skip
    renamed = admin.patch(f"/api/v1/users/{nurse}", json={"display_name": "Nora Q"},
                          headers=_headers(admin))  # fmt: skip
    assert renamed.json()["display_name"] == "Nora Q"
    other_id = "5b1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
    make_patient(session_factory, clock, patient_id=other_id, given_name="Mo")
    found = admin.get("/api/v1/users/patient-candidates", params={"q": "Mo"}).json()
    mrn = next(p["mrn"] for p in found if p["display_name"].endswith("Mo"))
    invited = _post(admin, "/api/v1/users/patient-invitations",
                    {"mrn": mrn, "email": "mo@example.org", "display_name": "Mo Hale"})  # fmt: skip
    assert invited["user"]["patient_id"] == other_id
    assert invited["record"] == f"Mo Hale ({mrn})"
    matrix = admin.get("/api/v1/permissions").json()
    assert "patient_record" in matrix["resources"]
    exported = admin.get("/api/v1/audit/export", params={"action": "user."})
    assert exported.headers["content-type"].startswith("application/json")
    actions = {e["action"] for e in exported.json()}
    assert {"user.deactivate", "user.reactivate", "user.role.change", "user.update"} <= actions
    csv_text = admin.get("/api/v1/audit/export", params={"format": "csv"}).text
    assert csv_text.startswith("sequence,occurred_at")
    assert signed_in["prescriber"].get("/api/v1/audit/export").status_code == 403
