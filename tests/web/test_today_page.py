"""The Today board: sessions by chair or room, timers to the next checkpoint, open alerts, REMS
forms due, its polling fragment, and who may see it. SQLite and PostgreSQL.

Sessions are walked through the services on the clinic morning of ``services.session_services``
(2 March 2026, 09:00 UTC), the same day as the web tests' clock.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from clinic_pages_support import audit_actions
from fastapi.testclient import TestClient
from web_support import Clock

from ketaclinic.clinical.sessions.alerts import Measures
from ketaclinic.services import sessions
from ketaclinic.storage.database import SessionFactory, transaction
from services.session_services import ESK, IV, T0, at, discharged, dosing, new_patient

HIGH_BP = Measures(systolic_mmhg=196, diastolic_mmhg=118, heart_rate_bpm=92, spo2_percent=97,
                   respiratory_rate_per_min=16, moaas=5)  # fmt: skip


@pytest.fixture
def clinic_day(session_factory: SessionFactory, clock: Clock) -> dict[str, object]:
    """Request it before ``signed_in`` (the clock moves to 12:00 before anyone signs in).

    Chair 2: an esketamine session dosing with a blood-pressure alert; an unassigned IV
    session at 13:00; an esketamine session discharged earlier (its REMS form is due)."""
    with transaction(session_factory) as db:
        alerting = dosing(db, ESK)
        _, raised = sessions.record_observation(db, at(25), alerting, "bp-1", HIGH_BP)
        later = sessions.schedule_session(
            db, at(-60), new_patient(db), IV, T0 + timedelta(hours=4)
        ).session_id
        done = discharged(db, ESK)
    clock.now = T0 + timedelta(hours=3)  # 12:00, after the discharge at 11:35
    return {"alerting": alerting, "alerts": len(raised), "later": later, "done": done}


def test_the_board_groups_sessions_by_place_with_alerts_timers_and_rems_forms(
    clinic_day: dict[str, object], signed_in: dict[str, TestClient],
    session_factory: SessionFactory,
) -> None:  # fmt: skip
    assert clinic_day["alerts"] >= 1, "the high blood pressure must raise an alert"
    page = signed_in["nurse"].get("/today").text
    assert "Today, Monday 02 March 2026" in page
    chair = re.search(r'<section class="chair alert-open"[^>]*>\s*<h2[^>]*>Chair 2 ', page)
    assert chair is not None, "the chair with an open alert is highlighted"
    assert "No chair or room assigned" in page
    assert f'href="/sessions/{clinic_day["alerting"]}"' in page
    assert f"{clinic_day['alerts']} open alert" in page
    assert f'href="/sessions/{clinic_day["done"]}/rems"' in page
    # The timer agrees with the checkpoint time it names (board time 12:00).
    timer = re.search(r"Next checkpoint in (\d+) min</span>\s*\((\d\d):(\d\d)\)", page)
    assert timer is not None, "the dosing session's next checkpoint has a timer"
    due = datetime(2026, 3, 2, int(timer.group(2)), int(timer.group(3)), tzinfo=T0.tzinfo)
    assert int(timer.group(1)) == (due - T0 - timedelta(hours=3)).total_seconds() // 60
    assert "session.today.read" in audit_actions(session_factory)


def test_the_board_fragment_polls_and_carries_no_page_around_it(
    clinic_day: dict[str, object], signed_in: dict[str, TestClient]
) -> None:
    fragment = signed_in["prescriber"].get("/today/board")
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="today-board" hx-get="/today/board"')
    assert 'hx-trigger="every 30s"' in fragment.text
    assert "<html" not in fragment.text


def test_an_empty_day_says_so(signed_in: dict[str, TestClient]) -> None:
    page = signed_in["nurse"].get("/today").text
    assert "No sessions are scheduled today." in page
    assert "None due." in page


@pytest.mark.parametrize("role", ["researcher", "patient", "administrator"])
def test_only_clinical_staff_see_today(role: str, signed_in: dict[str, TestClient]) -> None:
    assert signed_in[role].get("/today").status_code == 403
    assert signed_in[role].get("/today/board").status_code == 403


def _board_reads(factory: SessionFactory) -> int:
    return audit_actions(factory).count("session.today.read")


def test_an_idle_today_screen_still_times_out(
    signed_in: dict[str, TestClient], clock: Clock
) -> None:
    """The board polls every 30 s; polling is not activity, so nobody at the screen means the
    15-minute idle time-out still signs it out, and htmx is told to go to the sign-in page."""
    nurse = signed_in["nurse"]
    assert nurse.get("/today").status_code == 200
    poll = {"HX-Request": "true", "HX-Current-URL": "http://testserver/today"}
    for _ in range(28):  # 14 minutes of polling every 30 s
        clock.advance(seconds=30)
        assert nurse.get("/today/board", headers=poll).status_code == 200
    clock.advance(minutes=1, seconds=30)  # 15.5 minutes since the page was opened
    refused = nurse.get("/today/board", headers=poll, follow_redirects=False)
    assert refused.status_code == 401
    assert refused.headers["HX-Redirect"] == "/sign-in?next=/today&expired=1"
    assert (
        nurse.get("/today", follow_redirects=False)
        .headers["location"]
        .startswith("/sign-in?next=/today&expired=1")
    )


def test_a_click_is_activity_where_a_poll_is_not(
    signed_in: dict[str, TestClient], clock: Clock
) -> None:
    nurse = signed_in["nurse"]
    clock.advance(minutes=10)
    assert nurse.get("/today").status_code == 200  # the nurse opens the page: activity
    clock.advance(minutes=10)
    assert nurse.get("/today/board").status_code == 200  # 10 minutes idle: still signed in
    assert nurse.get("/session/status").json()["seconds_left"] == 5 * 60


def test_polling_writes_the_board_read_when_it_changes_or_every_ten_minutes(
    clinic_day: dict[str, object], signed_in: dict[str, TestClient],
    session_factory: SessionFactory, clock: Clock,
) -> None:  # fmt: skip
    nurse = signed_in["nurse"]
    nurse.get("/today")
    assert _board_reads(session_factory) == 1
    for _ in range(8):  # four minutes of polling, nothing changes on the board
        clock.advance(seconds=30)
        nurse.get("/today/board")
    assert _board_reads(session_factory) == 1
    with transaction(session_factory) as db:  # a session is booked for this afternoon
        sessions.schedule_session(db, at(200), new_patient(db), IV, T0 + timedelta(hours=6))
    clock.advance(seconds=30)
    nurse.get("/today/board")
    assert _board_reads(session_factory) == 2, "new content on the board is a new read"
    for _ in range(19):  # nine and a half minutes more: within ten minutes of that read
        clock.advance(seconds=30)
        nurse.get("/today/board")
    assert _board_reads(session_factory) == 2
    clock.advance(seconds=31)
    nurse.get("/today/board")
    assert _board_reads(session_factory) == 3, "an open board is recorded at least every 10 min"
    # Another person's refresh is their own read.
    signed_in["prescriber"].get("/today/board")
    assert _board_reads(session_factory) == 4
