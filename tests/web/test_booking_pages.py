"""Booking a signed plan's sessions from its page, rescheduling a no-show, and the API twins;
on SQLite and PostgreSQL. The app's clock is Monday 2 March 2026; the IV plan's calendar is
Wed 4, Fri 6, Mon 9, Wed 11, Fri 13, Mon 16 March."""

from __future__ import annotations

import re
from datetime import timedelta

from clinic_pages_support import audit_actions, post_form
from fastapi.testclient import TestClient
from web_support import Clock, csrf_from, sign_in

from ketaclinic.services import consents
from ketaclinic.services.plan_records import PlanRecord
from ketaclinic.storage.database import SessionFactory, transaction
from services.signed_plans import signed_plan


def _plan(factory: SessionFactory, clock: Clock, *, sign: bool = True) -> PlanRecord:
    with transaction(factory) as db:
        # Recorded an hour before the pages are used (the consent is in force by then).
        return signed_plan(db, sign=sign, now=clock.now - timedelta(hours=1))


def _treatment_consent(factory: SessionFactory, patient_id: str) -> str:
    with factory() as db:
        [consent] = [c for c in consents.list_consents(db, patient_id) if c.kind == "treatment"]
    return consent.consent_id


def test_a_nurse_books_from_the_plan_with_errors_beside_the_fields(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    plan = _plan(session_factory, clock)
    nurse = signed_in["nurse"]
    page_url = f"/plans/{plan.plan_id}/bookings"
    page = nurse.get(page_url)
    assert page.status_code == 200
    assert "<dt>Responsible clinician</dt><dd>Dr Sam Okafor</dd>" in page.text
    assert 'id="f-date_0" name="date_0" type="date" value="2026-03-04"' in page.text
    assert "Not on record yet" not in page.text  # the treatment consent is on record

    refused = post_form(nurse, page_url, {
        "book_0": "1", "date_0": "2026-03-04", "time_0": "10:00", "chair_0": "Chair 3",
        "book_1": "1", "date_1": "2026-03-07", "time_1": "10:00", "chair_1": "Chair 3",
    })  # fmt: skip
    assert refused.status_code == 422
    assert 'id="f-date_1-error"' in refused.text
    assert "The clinic is closed on Sat 2026-03-07" in refused.text
    assert 'id="f-chair_1" name="chair_1" type="text" value="Chair 3"' in refused.text
    assert "/sessions/" not in refused.text.split("The plan's calendar")[1]  # nothing booked
    no_time = post_form(nurse, page_url, {"book_0": "1", "date_0": "2026-03-04"})
    assert 'id="f-time_0-error"' in no_time.text

    booked = post_form(nurse, page_url, {
        "book_0": "1", "date_0": "2026-03-04", "time_0": "10:00", "chair_0": "Chair 3",
        "room_0": "Room B", "book_1": "1", "date_1": "2026-03-06", "time_1": "10:30",
    })  # fmt: skip
    assert booked.status_code == 303
    assert booked.headers["location"] == f"{page_url}?booked=2"
    page = nurse.get(booked.headers["location"]).text
    assert "2 sessions booked." in page
    assert "Wed 2026-03-04 10:00</a>, Chair 3 Room B" in page
    sessions = re.findall(r'href="/sessions/([0-9a-f-]+)"', page)
    assert len(sessions) == 2
    assert nurse.get(f"/sessions/{sessions[0]}").status_code == 200
    # The next free row's time defaults to the plan's usual slot.
    assert 'id="f-time_2" name="time_2" type="time" value="10:30"' in page
    actions = audit_actions(session_factory, plan.patient_id)
    assert {"plan.sessions.book", "session.schedule", "plan.bookings.read"} <= set(actions)
    # The signed plan's page links here, and so does every patient page's "Book sessions".
    assert f'href="{page_url}"' in nurse.get(f"/plans/{plan.plan_id}").text
    found = nurse.get(f"/patients/{plan.patient_id}/bookings", follow_redirects=False)
    assert found.headers["location"] == page_url


def test_a_no_show_is_rescheduled_from_the_booking_page(
    signed_in: dict[str, TestClient],
    accounts: dict[str, str],
    session_factory: SessionFactory,
    clock: Clock,
) -> None:
    plan = _plan(session_factory, clock)
    nurse = signed_in["nurse"]
    page_url = f"/plans/{plan.plan_id}/bookings"
    post_form(nurse, page_url, {
        "book_0": "1", "time_0": "10:00", "chair_0": "Chair 3", "book_1": "1", "time_1": "10:00",
    })  # fmt: skip
    first, second = re.findall(r'href="/sessions/([0-9a-f-]+)"', nurse.get(page_url).text)
    clock.advance(days=2, hours=3)  # Wednesday 4 March, 12:00: the patient did not come
    sign_in(nurse, accounts["nurse"])  # after two days the idle time-out has signed out
    assert post_form(nurse, f"/sessions/{first}/no-show", {}).status_code == 303
    page = nurse.get(page_url).text
    assert "Missed sessions" in page
    moved = post_form(nurse, f"/sessions/{first}/reschedule", {"chair": "Chair 5"})
    assert moved.status_code == 303
    page = nurse.get(moved.headers["location"]).text
    assert "Missed session rescheduled" in page
    # From tomorrow (Thu 5) keeping two days apart: the replacement Thu 5, then Mon 9.
    assert "Thu 2026-03-05 10:00</a>, Chair 5" in page
    assert re.search(rf'href="/sessions/{second}">Mon 2026-03-09 10:00', page)
    assert "session.reschedule" in audit_actions(session_factory, plan.patient_id)


def test_a_draft_plan_cannot_be_booked(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    plan = _plan(session_factory, clock, sign=False)
    nurse = signed_in["nurse"]
    page = nurse.get(f"/plans/{plan.plan_id}/bookings").text
    assert "A prescriber must sign it first." in page
    withdrawn = post_form(
        nurse,
        f"/patients/{plan.patient_id}/intake/consents/"
        f"{_treatment_consent(session_factory, plan.patient_id)}/withdraw",
        {},
    )
    assert withdrawn.status_code == 303
    page = nurse.get(f"/plans/{plan.plan_id}/bookings").text
    assert "Not on record yet: Treatment consent." in page
    assert "Book the ticked sessions" not in page
    refused = post_form(nurse, f"/plans/{plan.plan_id}/bookings", {"book_0": "1", "time_0": "9:00"})
    assert refused.status_code == 422  # no bookable row: nothing was ticked that can be booked


def test_the_booking_api_twins_the_page(
    signed_in: dict[str, TestClient], session_factory: SessionFactory, clock: Clock
) -> None:
    plan = _plan(session_factory, clock)
    prescriber = signed_in["prescriber"]
    headers = {"X-CSRF-Token": csrf_from(prescriber.get("/").text)}
    url = f"/api/v1/plans/{plan.plan_id}/sessions"
    bad = prescriber.post(url, headers=headers, json={"bookings": [
        {"sequence": 1, "starts_at": "2026-03-05T10:00:00+00:00"},
    ]})  # fmt: skip
    assert bad.status_code == 422
    assert bad.json()["field"] == "date_1"
    made = prescriber.post(url, headers=headers, json={"bookings": [
        {"sequence": 0, "starts_at": "2026-03-04T10:00:00+00:00", "chair": "Chair 1"},
    ]})  # fmt: skip
    assert made.status_code == 201, made.text
    body = made.json()
    [sid] = body["session_ids"]
    assert body["sessions"][0]["session_id"] == sid
    assert body["protocol_kind"] == "iv-racemic"
    sheet = prescriber.get(f"/api/v1/plans/{plan.plan_id}/bookings").json()
    assert [s["bookable"] for s in sheet["sessions"]][:2] == [False, True]
    not_missed = prescriber.post(f"/api/v1/sessions/{sid}/reschedule", headers=headers, json={})
    assert not_missed.status_code == 409
    assert signed_in["researcher"].get(f"/api/v1/plans/{plan.plan_id}/bookings").status_code == 403
    paths = prescriber.get("/openapi.json").json()["paths"]
    for path in (
        url,
        "/api/v1/plans/{plan_id}/bookings",
        "/api/v1/sessions/{session_id}/reschedule",
    ):
        assert path.replace(plan.plan_id, "{plan_id}") in paths
