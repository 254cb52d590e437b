"""Safety follow-up through the pages and the API: tasks completed and flags resolved with a note
by the role they are for, adverse events, bladder screens and misuse signals recorded with errors
beside the field, and Today's open tasks due; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

from clinic_pages_support import audit_actions, build, post_form
from fastapi.testclient import TestClient
from session_pages import STAFF, make_patient
from sqlalchemy.orm import Session
from web_support import Clock, csrf_from

from ketaclinic.services import safety
from ketaclinic.services.context import RequestContext
from ketaclinic.storage.database import SessionFactory


def _positive_item_9(factory: SessionFactory, clock: Clock, pid: str) -> None:
    def work(db: Session, ctx: RequestContext) -> None:
        screened_at = clock.now - timedelta(hours=1)
        safety.suicide_screen_followup(
            db, ctx, pid, screened_at=screened_at, phq9_item9=2, cssrs_risk=None
        )

    build(factory, STAFF, clock.now - timedelta(minutes=50), work)


def test_a_risk_task_is_closed_by_the_prescriber_with_a_note(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    pid = make_patient(session_factory, clock)
    _positive_item_9(session_factory, clock, pid)
    nurse, prescriber = signed_in["nurse"], signed_in["prescriber"]
    page_url = f"/patients/{pid}/safety"
    page = nurse.get(page_url).text
    assert "suicide risk assessment</strong>, due 2026-03-02 23:59 UTC" in page
    assert "Only a prescriber can complete this task." in page
    task_id = re.search(r"/safety/tasks/([0-9a-f-]+)/complete", prescriber.get(page_url).text)
    assert task_id is not None
    action = f"/patients/{pid}/safety/tasks/{task_id.group(1)}/complete"
    assert post_form(nurse, action, {"note": "Talked with the patient."}).status_code == 403
    # The chart offers the prescriber, not the nurse, the form to close it.
    assert action in prescriber.get(f"/patients/{pid}/chart").text
    assert action not in nurse.get(f"/patients/{pid}/chart").text

    empty = post_form(prescriber, action, {"note": " "})
    assert empty.status_code == 422
    assert f'id="f-note_{task_id.group(1)}-error"' in empty.text
    done = post_form(prescriber, action, {"note": "C-SSRS repeated: low risk; safety plan."})
    assert done.status_code == 303
    page = prescriber.get(done.headers["location"]).text
    assert "Task completed." in page
    assert "No open tasks." in page

    # The flag, resolved from the chart's own form, returns to the chart.
    flag_id = re.search(r"/safety/flags/([0-9a-f-]+)/resolve", page)
    assert flag_id is not None
    resolved = post_form(
        prescriber, f"/patients/{pid}/safety/flags/{flag_id.group(1)}/resolve",
        {"note": "Assessed today.", "return_to": "chart"},
    )  # fmt: skip
    assert resolved.headers["location"] == f"/patients/{pid}/chart#h-tasks"
    assert "No open flags." in prescriber.get(page_url).text
    actions = audit_actions(session_factory, pid)
    assert {"safety.task.complete", "safety.flag.resolve", "safety.read"} <= set(actions)


def test_events_screens_and_signals_are_recorded_with_errors_beside_the_fields(
    signed_in: dict[str, TestClient], session_factory: SessionFactory
) -> None:
    nurse = signed_in["nurse"]
    pid = make_patient(session_factory, Clock())
    base = f"/patients/{pid}/safety"
    missing = post_form(nurse, f"{base}/adverse-events", {
        "verbatim_term": "vomited twice", "onset_at": "2026-03-02T08:10",
    })  # fmt: skip
    assert missing.status_code == 422
    assert 'id="f-term_id-error"' in missing.text
    assert 'value="vomited twice"' in missing.text
    event = {
        "verbatim_term": "vomited twice", "term_id": "vomiting", "onset_at": "2026-03-02T08:10",
        "resolved_at": "2026-03-02T08:00", "severity": "moderate", "relatedness": "probable",
        "action_taken": "dose-not-changed", "outcome": "recovered",
    }  # fmt: skip
    backwards = post_form(nurse, f"{base}/adverse-events", event)
    assert backwards.status_code == 422
    assert 'id="f-resolved_at-error"' in backwards.text
    serious = event | {"resolved_at": "2026-03-02T08:40", "seriousness": "hospitalisation"}
    assert post_form(nurse, f"{base}/adverse-events", serious).status_code == 303
    page = nurse.get(f"{base}?saved=adverse-event").text
    assert "Adverse event recorded." in page
    assert "vomited twice (Vomiting)" in page
    assert "serious adverse event" in page.lower()
    assert "serious ae report</strong>" in page

    screen = post_form(nurse, f"{base}/bladder-screens", {"symptoms": ["frequency", "urgency"]})
    assert screen.status_code == 303
    signal = post_form(nurse, f"{base}/misuse-signals", {"kind": "craving-reported"})
    assert signal.status_code == 422
    assert 'id="f-detail-error"' in signal.text
    assert post_form(nurse, f"{base}/misuse-signals", {
        "kind": "craving-reported", "detail": "Says he thinks about it daily.",
    }).status_code == 303  # fmt: skip
    page = nurse.get(base).text
    assert "frequency, urgency" in page
    assert "craving reported: Says he thinks about it daily." in page
    actions = set(audit_actions(session_factory, pid))
    assert {"safety.adverse_event.record", "safety.bladder_screen.record",
            "safety.misuse_signal.record"} <= actions  # fmt: skip


def test_today_lists_the_open_tasks_due(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    pid = make_patient(session_factory, clock, given_name="Kit", family_name="Lowe")
    _positive_item_9(session_factory, clock, pid)
    nurse = signed_in["nurse"]
    assert 'hx-get="/today/tasks"' in nurse.get("/today").text
    panel = nurse.get("/today/tasks").text
    assert f'href="/patients/{pid}/safety#task">Kit Lowe</a>' in panel
    assert "suicide risk assessment</strong> for the prescriber" in panel
    assert "Kit Lowe" in nurse.get("/tasks").text
    assert signed_in["researcher"].get("/today/tasks").status_code == 403


def test_the_safety_api_twins_the_pages(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    pid = make_patient(session_factory, clock)
    nurse, prescriber = signed_in["nurse"], signed_in["prescriber"]
    headers = {"X-CSRF-Token": csrf_from(nurse.get("/").text)}
    event = {
        "verbatim_term": "fainted at home", "term_id": "other",
        "onset_at": "2026-03-02T07:00:00+00:00", "severity": "severe",
        "seriousness": ["hospitalisation"], "relatedness": "possible",
        "action_taken": "dosing-interrupted", "outcome": "recovering",
    }  # fmt: skip
    made = nurse.post(f"/api/v1/patients/{pid}/adverse-events", json=event, headers=headers)
    assert made.status_code == 201, made.text
    assert len(made.json()["task_ids"]) == 2
    bad = nurse.post(
        f"/api/v1/patients/{pid}/adverse-events", json=event | {"term_id": "x"}, headers=headers
    )
    assert bad.status_code == 422
    due = nurse.get("/api/v1/tasks/due").json()
    review = next(t for t in due["due"] if t["kind"] == "serious-ae-medical-review")
    refused = nurse.post(
        f"/api/v1/tasks/{review['task_id']}/complete", json={"note": "seen"}, headers=headers
    )
    assert refused.status_code == 403
    p_headers = {"X-CSRF-Token": csrf_from(prescriber.get("/").text)}
    closed = prescriber.post(
        f"/api/v1/tasks/{review['task_id']}/complete", json={"note": "Reviewed."},
        headers=p_headers,
    )  # fmt: skip
    assert closed.json() == {"task_id": review["task_id"], "status": "done"}
    flags = prescriber.get(f"/api/v1/patients/{pid}/safety").json()["flags"]
    resolved = prescriber.post(
        f"/api/v1/flags/{flags[0]['id']}/resolve", json={"note": "Reviewed."}, headers=p_headers
    )
    assert resolved.json()["status"] == "resolved"
    screen = nurse.post(
        f"/api/v1/patients/{pid}/bladder-screens", json={"symptoms": ["haematuria"]},
        headers=headers,
    )  # fmt: skip
    assert screen.status_code == 201
    assert screen.json()["flag_ids"]
    signal = nurse.post(
        f"/api/v1/patients/{pid}/misuse-signals",
        json={"kind": "positive-toxicology", "detail": "Urine positive for ketamine."},
        headers=headers,
    )
    assert signal.status_code == 201
    paths = nurse.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/tasks/due", "/api/v1/tasks/{task_id}/complete",
                 "/api/v1/flags/{flag_id}/resolve", "/api/v1/patients/{patient_id}/adverse-events",
                 "/api/v1/patients/{patient_id}/bladder-screens",
                 "/api/v1/patients/{patient_id}/misuse-signals"):  # fmt: skip
        assert path in paths
