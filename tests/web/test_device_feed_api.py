"""POST /api/v1/sessions/{session_id}/vitals through the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from web_support import Clock, csrf_from

from ketaclinic.services import device_feed, sessions
from ketaclinic.services.context import SYSTEM
from ketaclinic.storage.database import SessionFactory
from services.session_services import ESK, T0, at, checked_in, monitoring

PATH = "/api/v1/sessions/{}/vitals"


def rid(n: int) -> str:
    return str(uuid.UUID(int=1000 + n, version=4))


def reading(n: int, minute: float, **values: Any) -> dict[str, Any]:
    stamp = (T0 + timedelta(minutes=minute)).isoformat()
    vitals = values or {"systolic_mmhg": 131, "diastolic_mmhg": 83, "heart_rate_bpm": 75}
    return {"id": rid(n), "taken_at": stamp} | vitals


def _session_and_device(session_factory: SessionFactory) -> tuple[str, str]:
    with session_factory() as db:
        sid = monitoring(db, ESK)
        _, token = device_feed.register_device(db, at(0, SYSTEM), "Chair 2 monitor")
        db.commit()
    return sid, token


def test_a_device_posts_a_batch_and_a_re_send_is_all_duplicates(
    app: FastAPI, session_factory: SessionFactory, clock: Clock
) -> None:
    sid, token = _session_and_device(session_factory)
    clock.now = T0 + timedelta(minutes=60)
    device = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    batch = {
        "readings": [
            reading(1, 45),
            reading(2, 25, spo2_percent=97),
            reading(3, 50, systolic_mmhg=400, diastolic_mmhg=90),
        ]
    }
    first = device.post(PATH.format(sid), json=batch)
    assert first.status_code == 200, first.text
    body = first.json()
    assert [r["status"] for r in body["results"]] == ["accepted", "accepted", "rejected"]
    assert (body["accepted"], body["duplicate"], body["rejected"]) == (2, 0, 1)
    assert "not physiologically possible" in body["results"][2]["reason"]
    again = device.post(PATH.format(sid), json=batch).json()
    assert [r["status"] for r in again["results"]] == ["duplicate", "duplicate", "rejected"]
    with session_factory() as db:
        record = sessions.get_session(db, at(61), sid)
    assert sum(o.id in (rid(1), rid(2), rid(3)) for o in record.observations) == 2


def test_callers_without_a_valid_token_or_session_are_refused(
    app: FastAPI, session_factory: SessionFactory, clock: Clock
) -> None:
    sid, _ = _session_and_device(session_factory)
    clock.now = T0 + timedelta(minutes=60)
    batch = {"readings": [reading(4, 45)]}
    anonymous = TestClient(app).post(PATH.format(sid), json=batch)
    assert anonymous.status_code == 401
    forged = TestClient(app, headers={"Authorization": "Bearer not-a-token"})
    refused = forged.post(PATH.format(sid), json=batch)
    assert refused.status_code == 401
    assert "device token" in refused.json()["error"]


def test_staff_who_may_change_sessions_can_post_and_others_cannot(
    app: FastAPI, session_factory: SessionFactory, clock: Clock, signed_in: dict[str, TestClient]
) -> None:
    with session_factory() as db:
        sid = checked_in(db, ESK)  # checked in at 09:00
        db.commit()
    clock.advance(minutes=10)  # within the sign-in idle time-out
    nurse = signed_in["nurse"]
    token = csrf_from(nurse.get("/").text)
    ok = nurse.post(
        PATH.format(sid), json={"readings": [reading(5, 8)]}, headers={"X-CSRF-Token": token}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["results"][0]["status"] == "accepted"
    researcher = signed_in["researcher"]
    token = csrf_from(researcher.get("/").text)
    denied = researcher.post(
        PATH.format(sid), json={"readings": [reading(6, 9)]}, headers={"X-CSRF-Token": token}
    )
    assert denied.status_code == 403


def test_unknown_session_and_empty_batch(
    app: FastAPI, session_factory: SessionFactory, clock: Clock
) -> None:
    _, token = _session_and_device(session_factory)
    clock.now = T0 + timedelta(minutes=60)
    device = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    missing = device.post(PATH.format(rid(99)), json={"readings": [reading(7, 45)]})
    assert missing.status_code == 404
    empty = device.post(PATH.format(rid(99)), json={"readings": []})
    assert empty.status_code == 422


def test_the_openapi_schema_documents_the_feed(app: FastAPI) -> None:
    schema = app.openapi()
    operation = schema["paths"]["/api/v1/sessions/{session_id}/vitals"]["post"]
    request_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    response_ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    components = schema["components"]["schemas"]
    batch = components[request_ref.rsplit("/", 1)[-1]]
    item = batch["properties"]["readings"]["items"]
    assert {"id", "taken_at", "systolic_mmhg", "spo2_percent"} <= set(item["properties"])
    assert batch["examples"][0]["readings"][0]["taken_at"].endswith("+00:00")
    result = components[response_ref.rsplit("/", 1)[-1]]
    assert {"accepted", "duplicate", "rejected", "results"} <= set(result["properties"])
    assert result["examples"]
    assert {"401", "403", "404"} <= set(operation["responses"])
