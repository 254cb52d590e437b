"""The clinic's time zone (KETACLINIC_CLINIC_TIMEZONE) decides which day "today" is and how every
time reads, far from UTC: a Los Angeles evening (already tomorrow in UTC) and an Auckland morning
(still yesterday in UTC). Times are stored in UTC throughout. SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from session_pages import STAFF, make_patient
from web_support import Clock

from ketaclinic.clinical.policy import ProtocolKind
from ketaclinic.services import sessions
from ketaclinic.services.context import RequestContext
from ketaclinic.settings import Settings
from ketaclinic.storage.database import SessionFactory

# (zone, the clinic's wall clock now, its calendar day, a session later that clinic day,
#  a session the next clinic day that falls on today's UTC date or vice versa)
CASES = {
    # 19:30 on Monday 2 March in Los Angeles is 03:30 UTC on Tuesday 3 March.
    "America/Los_Angeles": (datetime(2026, 3, 3, 3, 30, tzinfo=UTC), date(2026, 3, 2)),
    # 08:00 on Tuesday 3 March in Auckland is 19:00 UTC on Monday 2 March.
    "Pacific/Auckland": (datetime(2026, 3, 2, 19, 0, tzinfo=UTC), date(2026, 3, 3)),
}


@pytest.fixture(params=sorted(CASES))
def clinic_timezone(request: pytest.FixtureRequest) -> str:
    zone: str = request.param
    return zone


def _book(factory: SessionFactory, clock: Clock, patient_id: str, at: datetime) -> str:
    with factory() as db:
        record = sessions.schedule_session(
            db, RequestContext(STAFF, clock.now - timedelta(hours=2)), patient_id,
            ProtocolKind.IV_RACEMIC, at, chair="Chair 4",
        )  # fmt: skip
        db.commit()
    return record.session_id


@dataclass(frozen=True)
class Case:
    zone: ZoneInfo
    day: date  # the clinic's calendar day now
    now: datetime  # UTC
    today: str  # a session an hour from now, on the clinic's day
    outside: str  # a session an hour before the clinic's day began


@pytest.fixture
def clinic_evening_or_morning(
    clinic_timezone: str, clock: Clock, session_factory: SessionFactory
) -> Case:
    """The clock at the case's moment, and two sessions: one an hour later on the clinic's day,
    one an hour before the clinic's day starts (the same UTC date as now in Auckland, the previous
    clinic day in Los Angeles: never on today's board either way)."""
    now, clinic_day = CASES[clinic_timezone]
    zone = ZoneInfo(clinic_timezone)
    clock.now = now
    pid = make_patient(session_factory, clock)
    later_today = _book(session_factory, clock, pid, now + timedelta(hours=1))
    start_of_day = datetime.combine(clinic_day, datetime.min.time(), tzinfo=zone)
    outside = _book(session_factory, clock, pid, start_of_day - timedelta(hours=1))
    return Case(zone, clinic_day, now, later_today, outside)


def test_today_shows_the_clinic_s_day_and_its_times(
    clinic_evening_or_morning: Case, signed_in: dict[str, TestClient]
) -> None:
    case = clinic_evening_or_morning
    zone, day, now = case.zone, case.day, case.now
    assert now.date() != day, "the case must fall on another UTC date"
    page = signed_in["nurse"].get("/today").text
    assert f"Today, {day.strftime('%A %d %B %Y')}" in page
    assert f'href="/sessions/{case.today}"' in page
    assert f'href="/sessions/{case.outside}"' not in page
    local_start = (now + timedelta(hours=1)).astimezone(zone).strftime("%H:%M")
    assert f"{local_start} Robin Hale" in page
    assert f"Times are clinic time ({zone.key})" in page
    assert f"Updated {now.astimezone(zone).strftime('%H:%M:%S %Z')}" in page
    listing = signed_in["nurse"].get("/sessions").text
    assert f'href="/sessions/{case.today}"' in listing
    assert f'href="/sessions/{case.outside}"' not in listing
    assert f"<td>{local_start}</td>" in listing
    api = signed_in["nurse"].get("/api/v1/today").json()
    assert (api["day"], api["clinic_timezone"]) == (day.isoformat(), zone.key)


def test_the_portal_lists_upcoming_sessions_on_the_clinic_s_days(
    clinic_evening_or_morning: Case, signed_in: dict[str, TestClient]
) -> None:
    case = clinic_evening_or_morning
    zone, day, now = case.zone, case.day, case.now
    home = signed_in["patient"].get("/portal").text
    local = (now + timedelta(hours=1)).astimezone(zone)
    assert f"<strong>{day.strftime('%A %d %B %Y')}</strong>: Treatment session at " in home
    assert f"Treatment session at {local.strftime('%H:%M')}" in home


def test_the_audit_trail_reads_in_clinic_time_and_searches_by_the_clinic_s_day(
    clinic_evening_or_morning: Case, signed_in: dict[str, TestClient]
) -> None:
    case = clinic_evening_or_morning
    zone, day, now = case.zone, case.day, case.now
    admin = signed_in["administrator"]
    page = admin.get("/admin/audit", params={"action": "user.sign_in"}).text
    assert f"When ({zone.key})" in page
    assert now.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") in page
    # "From" the clinic's day finds today's sign-ins; "before" it finds none of them.
    since = admin.get("/api/audit/events", params={"action": "user.sign_in", "since": day})
    until = admin.get("/api/audit/events", params={"action": "user.sign_in", "until": day})
    assert len(since.json()) == 5
    assert until.json() == []


def test_an_unknown_zone_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValueError, match="KETACLINIC_CLINIC_TIMEZONE: 'Mars/Olympus' is not"):
        Settings(clinic_timezone="Mars/Olympus")
