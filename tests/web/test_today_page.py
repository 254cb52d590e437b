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
