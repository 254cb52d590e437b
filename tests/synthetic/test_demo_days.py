"""The demo clinic on later days: "today" is always today. A load on another day completes the
earlier days' visits, records the plan calendars up to the day and deals the day's board; the same
day twice adds nothing. On SQLite and PostgreSQL, with a small clinic."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaclinic.services import rems, session_today
from ketaclinic.services.context import SYSTEM, RequestContext
from ketaclinic.storage.database import make_engine, make_session_factory
from ketaclinic.storage.tables.planning import PlanSessionRow, TreatmentPlanRow
from ketaclinic.storage.tables.sessions import SupervisedSessionRow
from ketaclinic.synthetic.demo import DemoReport, load_demo, refresh_demo_day
from ketaclinic.synthetic.demo_walks import PATH
from support.databases import DatabaseProvider

FIRST = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)  # a Monday
PATIENTS = 16
IN_PROGRESS = set(PATH[1:-1])  # checked in, not yet discharged


def _load(db: Session, now: datetime) -> DemoReport:
    report = load_demo(db, RequestContext(SYSTEM, now), seed=1, patients_count=PATIENTS)
    db.commit()
    return report


def _board(db: Session, now: datetime) -> Counter[str]:
    entries = session_today.today_list(db, RequestContext(SYSTEM, now), now.date(), UTC)
    return Counter(e.state for e in entries)


def test_a_later_day_is_a_live_day_and_the_earlier_one_is_closed(db: Session) -> None:
    _load(db, FIRST)
    assert _board(db, FIRST).keys() & IN_PROGRESS
    next_day = FIRST + timedelta(days=1)
    report = _load(db, next_day)
    assert report.as_of == FIRST  # the month stays where the first load put it
    assert report.written["earlier days completed"] > 0
    assert report.written["today's sessions"] > 0

    board = _board(db, next_day)
    assert board.keys() & IN_PROGRESS
    assert board["scheduled"] >= 1
    yesterday = _board(db, FIRST)
    assert not yesterday.keys() & (IN_PROGRESS | {"scheduled"})
    unsigned = db.scalars(
        select(SupervisedSessionRow).where(
            SupervisedSessionRow.scheduled_for < datetime(2026, 3, 3, tzinfo=UTC),
            SupervisedSessionRow.signed_at.is_(None),
            SupervisedSessionRow.state != "no-show",
        )
    ).all()
    assert [(r.id, r.state, r.scheduled_for) for r in unsigned] == []
    statuses = Counter(s.status for s in rems.form_summaries(db, today=next_day.date()))
    assert statuses["due"] >= 1
    assert statuses["overdue"] >= 1

    again = _load(db, next_day + timedelta(minutes=1))
    assert sum(again.written.values()) == 0


def test_after_a_gap_the_calendars_and_paperwork_are_up_to_date(
    database_provider: DatabaseProvider,
) -> None:
    # SQLite only: the first test walks the same services on PostgreSQL.
    databases = database_provider.backend("sqlite")
    url = databases.create()
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as db:
            _check_a_gap(db)
    finally:
        engine.dispose()
        databases.drop(url)


def _check_a_gap(db: Session) -> None:
    _load(db, FIRST)
    later = FIRST + timedelta(days=9)
    report = _load(db, later)
    assert report.patients_new > 0  # patients arrived meanwhile
    running = db.scalars(
        select(TreatmentPlanRow.id).where(TreatmentPlanRow.status.in_(["signed", "active"]))
    ).all()
    overdue_entries = db.scalar(
        select(func.count()).where(
            PlanSessionRow.plan_id.in_(running),
            PlanSessionRow.status == "planned",
            PlanSessionRow.scheduled_on < later.date(),
        )
    )
    assert overdue_entries == 0
    forms = rems.form_summaries(db, today=later.date())
    # Earlier forms were submitted the day after their session; the serious event's stays out.
    assert Counter(f.status for f in forms)["overdue"] == 1
    assert _board(db, later).keys() & IN_PROGRESS
    refreshed = refresh_demo_day(db, RequestContext(SYSTEM, later + timedelta(minutes=5)))
    assert [(r.seed, sum(r.written.values())) for r in refreshed] == [(1, 0)]
