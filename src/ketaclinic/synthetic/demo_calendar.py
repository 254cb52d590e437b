"""Carry a demo patient's plan calendar forward to a day, entry by entry, through the services.

    advance_calendar(db, person, plan_id, until=day, now=clinic_now)

Every calendar entry before ``until`` is recorded in order (``plan_calendar``): given
(``mark_done``) when it was given, missed and moved forward (``mark_missed``) when the patient did
not come. A booked session decides: discharged, or stopped after a dose, is given; a no-show, or
stopped before any dose, is missed; a session still running stops the walk until it ends. An
entry nothing was booked for is first given its session by ``give`` (``demo_sessions`` books and
charts it in full); the scripted miss is a no-show: every seventh patient missed their second
session and came back the next clinic day. A drop-out's plan is stopped the day after their last
visit.
Run again with a later day, it carries on from where it stopped, so loading twice adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical.sessions.lifecycle import SessionState
from ketaclinic.services import plan_calendar, planning
from ketaclinic.services.context import RequestContext
from ketaclinic.services.plan_records import LIVE_STATUSES, plan_row, session_rows
from ketaclinic.storage.tables.planning import PlanSessionRow, TreatmentPlanRow
from ketaclinic.storage.tables.sessions import SessionDosingRow, SupervisedSessionRow
from ketaclinic.synthetic.demo_data import NURSE, PRESCRIBER
from ketaclinic.synthetic.demo_plan import DemoPatient

_RUNNING = ("signed", "active")
_ENDED = (SessionState.DISCHARGED.value, SessionState.NO_SHOW.value, SessionState.ABORTED.value)


def scripted_miss(person: DemoPatient) -> int | None:
    """The calendar sequence the patient missed (every seventh patient missed their second)."""
    return 1 if person.index % 7 == 2 else None


def _stop_after(person: DemoPatient) -> date | None:
    dropped = person.course.dropped_out_after_day
    first = person.course.first_session_at.date()
    return None if dropped is None else first + timedelta(days=dropped)


def next_entry(db: Session, plan_id: str) -> PlanSessionRow | None:
    """The first calendar entry still planned (None when the plan is not running)."""
    plan = db.get(TreatmentPlanRow, plan_id)
    if plan is None or plan.status not in _RUNNING:
        return None
    live = [r for r in session_rows(db, plan_id) if r.status in LIVE_STATUSES]
    return next((r for r in live if r.status == "planned"), None)


def booked_session(db: Session, entry: PlanSessionRow) -> SupervisedSessionRow | None:
    return db.scalars(
        select(SupervisedSessionRow).where(SupervisedSessionRow.plan_session_id == entry.id)
    ).first()


def _dosed(db: Session, session_id: str) -> bool:
    found = db.scalar(
        select(SessionDosingRow.session_id).where(SessionDosingRow.session_id == session_id)
    )
    return found is not None


# Charts the session of a calendar entry that was not booked (the entry, and whether the patient
# missed it); the calendar is then recorded from that session.
GiveEntry = Callable[[PlanSessionRow, bool], None]


def advance_calendar(
    db: Session,
    person: DemoPatient,
    plan_id: str,
    *,
    until: date,
    now: datetime,
    give: GiveEntry | None = None,
) -> None:
    """Record the entries before ``until`` (see the module docstring)."""

    tz = now.tzinfo

    def at(day: date, hour: int) -> RequestContext:
        return RequestContext(NURSE, datetime.combine(day, time(hour, 0), tzinfo=tz))

    stop_after = _stop_after(person)
    while (entry := next_entry(db, plan_id)) is not None and entry.scheduled_on < until:
        if stop_after is not None and entry.scheduled_on > stop_after:
            break
        session = booked_session(db, entry)
        if session is None and give is not None:
            give(entry, entry.sequence == scripted_miss(person))
            session = booked_session(db, entry)
        next_day = entry.scheduled_on + timedelta(days=1)
        if session is not None and session.state not in _ENDED:
            return  # still running: recorded once it ends
        missed = (
            session.state == SessionState.NO_SHOW.value or not _dosed(db, session.id)
            if session is not None
            else entry.sequence == scripted_miss(person)
        )
        if missed:
            if next_day >= until:
                return  # moved from tomorrow: wait until tomorrow is past
            plan_calendar.mark_missed(db, at(next_day, 8), plan_id, entry.sequence, today=next_day)
        else:
            plan_calendar.mark_done(db, at(entry.scheduled_on, 17), plan_id, entry.sequence)
    plan = plan_row(db, plan_id)
    if stop_after is not None and plan.status in _RUNNING and stop_after < until:
        moment = datetime.combine(stop_after + timedelta(days=1), time(9, 0), tzinfo=tz)
        planning.stop_plan(
            db,
            RequestContext(PRESCRIBER, min(moment, now)),
            plan_id,
            "Patient withdrew from the course (demo drop-out).",
        )
