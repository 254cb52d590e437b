"""The audit trail in the browser and the API: search, verification, export."""

from __future__ import annotations

import csv
import io
import re
import threading

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from ketaclinic.storage.database import SessionFactory


def test_sign_ins_are_in_the_trail_and_it_verifies(signed_in: dict[str, TestClient]) -> None:
    admin = signed_in["administrator"]
    events = admin.get("/api/audit/events", params={"action": "user.sign_in"}).json()
    roles = {e["actor_role"] for e in events if e["action"] == "user.sign_in"}
    assert roles == {"administrator", "prescriber", "nurse", "patient", "researcher"}
    assert all(e["ip_address"] == "testclient" for e in events)
    assert admin.get("/api/audit/verify").json()["ok"] is True
    page = admin.get("/admin/audit", params={"action": "user."})
    assert page.status_code == 200
    assert "Chain verified" in page.text


def test_tampering_shows_on_the_audit_page(
    signed_in: dict[str, TestClient], session_factory: SessionFactory
) -> None:
    with session_factory() as db:
        db.execute(text("UPDATE audit_events SET actor_name = 'Nobody' WHERE sequence = 3"))
        db.commit()
    admin = signed_in["administrator"]
    verdict = admin.get("/api/audit/verify").json()
    assert verdict["ok"] is False
    assert verdict["first_broken_sequence"] == 3
    assert "audit trail broken at entry 3" in admin.get("/admin/audit").text


def test_export_is_a_csv_file_and_is_itself_audited(signed_in: dict[str, TestClient]) -> None:
    admin = signed_in["administrator"]
    response = admin.get("/admin/audit/export", params={"format": "csv", "action": "user.sign_in"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["action"] for r in rows} == {"user.sign_in"}
    assert len(rows) == 5
    exports = admin.get("/api/audit/events", params={"action": "audit.export"}).json()
    assert len(exports) == 1
    assert exports[0]["detail"]["action"] == "user.sign_in"


def test_a_bad_date_in_the_search_is_explained(signed_in: dict[str, TestClient]) -> None:
    response = signed_in["administrator"].get("/api/audit/events", params={"since": "yesterday"})
    assert response.status_code == 422
    assert response.json()["field"] == "since"


def test_a_refused_attempt_is_recorded_even_though_nothing_else_is(
    signed_in: dict[str, TestClient],
) -> None:
    assert signed_in["researcher"].get("/admin/users").status_code == 403
    events = (
        signed_in["administrator"]
        .get("/api/audit/events", params={"action": "access.denied"})
        .json()
    )
    assert len(events) == 1
    assert events[0]["actor_role"] == "researcher"
    assert events[0]["entity_id"] == "/admin/users"
    assert "may not read" in events[0]["detail"]["reason"]
    assert signed_in["administrator"].get("/api/audit/verify").json()["ok"] is True


def test_searching_the_trail_for_a_patient_is_itself_recorded(
    signed_in: dict[str, TestClient],
) -> None:
    admin = signed_in["administrator"]
    patient_id = "7d1f8a34-5a0c-4a53-9d7e-0c2d1f3b9e11"
    admin.get("/admin/audit", params={"patient_id": patient_id})
    searches = admin.get("/api/audit/events", params={"action": "audit.search"}).json()
    # Newest first: this API search is recorded after it runs, so the page's search is first.
    assert len(searches) == 1
    assert searches[0]["patient_id"] == patient_id
    assert searches[0]["actor_role"] == "administrator"


def test_concurrent_requests_that_read_and_audit_all_succeed(
    app: FastAPI, signed_in: dict[str, TestClient]
) -> None:
    cookies = dict(signed_in["administrator"].cookies)
    statuses: list[int] = []

    def work() -> None:
        client = TestClient(app, cookies=cookies)
        statuses.extend(
            client.get("/api/audit/events", params={"limit": 5}).status_code for _ in range(10)
        )

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 60
    verdict = signed_in["administrator"].get("/api/audit/verify").json()
    assert verdict["ok"] is True


def test_the_audit_page_checks_new_entries_and_walks_the_whole_chain_on_demand(
    signed_in: dict[str, TestClient], session_factory: SessionFactory
) -> None:
    admin = signed_in["administrator"]
    first = admin.get("/admin/audit").text
    assert "The whole chain was walked just now." in first
    second = admin.get("/admin/audit").text
    assert "Chain verified" in second
    assert re.search(r"Entries after #\d+ were checked now", second)
    # An entry altered before the page's last check is found by the full walk it offers.
    with session_factory() as db:
        db.execute(text("UPDATE audit_events SET actor_name = 'Nobody' WHERE sequence = 2"))
        db.commit()
    assert 'href="/admin/audit?verify=full"' in second
    full = admin.get("/admin/audit", params={"verify": "full"}).text
    assert "audit trail broken at entry 2" in full
    # After a failure the next load walks everything again, so the warning stays.
    assert "audit trail broken at entry 2" in admin.get("/admin/audit").text


def test_an_entry_altered_after_the_last_check_shows_on_the_next_load(
    signed_in: dict[str, TestClient], session_factory: SessionFactory
) -> None:
    admin = signed_in["administrator"]
    admin.get("/admin/audit")
    admin.get("/api/audit/events", params={"limit": 1})  # a new entry after the checkpoint
    with session_factory() as db:
        last = db.scalar(text("SELECT max(sequence) FROM audit_events"))
        db.execute(text(f"UPDATE audit_events SET action = 'x' WHERE sequence = {last}"))
        db.commit()
    assert f"audit trail broken at entry {last}" in admin.get("/admin/audit").text
