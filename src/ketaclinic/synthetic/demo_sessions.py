"""The demo clinic's supervised sessions: a live Today board and a recent past with every signal.

    load_history_sessions(db, people, seed, epoch)   # once, on the first load
    finish_earlier_days(db, people, seed, epoch, today)
    load_day_sessions(db, people, seed, now)         # the day of ``now``, once per day

Today's board (``DAY_SCENARIOS``) is dealt for the day of the load: sessions in every state, an
open and an acknowledged blood-pressure alert, an esketamine session discharged this morning with
its REMS form due and a dissociation reported. A later load on another day first completes the
earlier days' visits (discharged and signed, their REMS forms submitted the next day) and then deals
that day's board, so the demo stays live whichever day it is opened.

The recent past (``HISTORY_SCENARIOS``, counted back from the first load): an esketamine session
with its REMS form submitted, one stopped for a hypertensive urgency with a serious adverse event
(its reporting task open, its REMS form overdue, the plan stopped) and an IV session followed by a
misuse signal.

Sessions carry out plan calendar entries booked through ``services.booking`` (an entry planned
that day, else the patient's next entry moved to that day when the calendar's rules allow);
without one, a session is scheduled outside a plan (``sessions.schedule_session``). Every session
id comes from the seed, the scenario and the day, so a scenario whose session exists is skipped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta, tzinfo

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical.policy import ProtocolKind
from ketaclinic.clinical.sessions.lifecycle import SessionState
from ketaclinic.errors import KetaclinicError
from ketaclinic.services import booking, rems, sessions
from ketaclinic.services.context import RequestContext
from ketaclinic.storage.tables.planning import PlanSessionRow
from ketaclinic.storage.tables.sessions import SupervisedSessionRow
from ketaclinic.synthetic.demo_calendar import advance_calendar, booked_session, next_entry
from ketaclinic.synthetic.demo_data import NURSE, PRESCRIBER, demo_id
from ketaclinic.synthetic.demo_plan import DemoPatient
from ketaclinic.synthetic.demo_plans import course_plan_id
from ketaclinic.synthetic.demo_scenarios import (
    DAY_SCENARIOS,
    HISTORY_SCENARIOS,
    KIND_OF_ROUTE,
    Scenario,
    submit_form,
)
from ketaclinic.synthetic.demo_walks import PATH, PlanEntry, Walk

PAST_SESSIONS = "sessions before today"
_NO_PLAN = "No signed plan entry for this visit; rebooked from the patient's plan instead."


def _day_window(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0, 0), tzinfo=tz)
    return start, start + timedelta(days=1)


def _sessions_on(db: Session, patient_id: str, day: date, tz: tzinfo) -> bool:
    start, end = _day_window(day, tz)
    found = db.scalar(
        select(SupervisedSessionRow.id).where(
            SupervisedSessionRow.patient_id == patient_id,
            SupervisedSessionRow.scheduled_for >= start,
            SupervisedSessionRow.scheduled_for < end,
        )
    )
    return found is not None


def _book(w: Walk, plan_id: str, entry: PlanSessionRow, chair: str, session_id: str) -> bool:
    """Book the calendar entry for the walk's time; False when the calendar's rules refuse it."""
    booked_at = RequestContext(NURSE, min(w.t0, w.t0 - timedelta(days=1)))
    try:
        booking.book_sessions(
            w.db, booked_at, plan_id,
            [booking.Booking(entry.sequence, w.t0, chair, "Treatment room", session_id)],
        )  # fmt: skip
    except KetaclinicError:
        return False
    w.entry = PlanEntry(plan_id, entry.sequence, entry.id)
    w.session_id = session_id
    return True


def _schedule_outside_plan(w: Walk, chair: str, session_id: str) -> None:
    sessions.schedule_session(
        w.db, RequestContext(PRESCRIBER, w.t0 - timedelta(days=1)), w.person.patient_id, w.kind,
        w.t0, protocol_id=w.person.course.protocol_id, chair=chair, room="Treatment room",
        responsible_clinician=PRESCRIBER.display_name, weight_kg=w.person.weight_kg,
        session_id=session_id,
    )  # fmt: skip
    w.session_id = session_id


def _deal(
    db: Session,
    seed: int,
    scenario: Scenario,
    candidates: Sequence[DemoPatient],
    t0: datetime,
    now: datetime,
    chair: str,
    session_id: str,
) -> DemoPatient | None:
    """Book the scenario for the first candidate whose calendar allows it on ``t0``'s day: an
    entry planned that day first, then a later entry moved to it; else outside a plan."""
    day = t0.date()
    tz = t0.tzinfo
    assert tz is not None
    free = [p for p in candidates if not _sessions_on(db, p.patient_id, day, tz)]
    entries = [(p, next_entry(db, course_plan_id(seed, p))) for p in free]
    on_day = [(p, e) for p, e in entries if e is not None and e.scheduled_on == day]
    # A course not yet started keeps its first day (its baseline forms are dated by it).
    later = [
        (p, e)
        for p, e in entries
        if e is not None and e.scheduled_on > day and p.course.first_session_at.date() < day
    ]
    for person, entry in on_day + later:
        if booked_session(db, entry) is not None:
            continue
        walk = Walk(db, person, KIND_OF_ROUTE[person.course.route], t0, now=now)
        if _book(walk, course_plan_id(seed, person), entry, chair, session_id):
            scenario.play(walk)
            walk.catch_up()
            return person
    if not free or not scenario.outside_plan_allowed:
        return None
    walk = Walk(db, free[0], KIND_OF_ROUTE[free[0].course.route], t0, now=now)
    _schedule_outside_plan(walk, chair, session_id)
    scenario.play(walk)
    return free[0]


def _on_course(people: Sequence[DemoPatient], route: str) -> list[DemoPatient]:
    # The untreated (absolute contraindication) patient has no plan and never comes.
    return [p for p in people if p.course.route == route and p.role != "absolute-contraindication"]


def _history_entry(
    db: Session, seed: int, person: DemoPatient, target: date, before: date
) -> PlanSessionRow | None:
    """The patient's planned entry nearest ``target`` (and before ``before``), if any."""
    plan_id = course_plan_id(seed, person)
    first = next_entry(db, plan_id)
    if first is None:
        return None
    rows = db.scalars(
        select(PlanSessionRow).where(
            PlanSessionRow.plan_id == plan_id,
            PlanSessionRow.status == "planned",
            PlanSessionRow.scheduled_on < before,
        )
    ).all()
    return min(rows, key=lambda r: (abs((r.scheduled_on - target).days), r.sequence), default=None)


def load_history_sessions(
    db: Session, people: Sequence[DemoPatient], seed: int, epoch: datetime
) -> int:
    """The recent past, counted back from the first load; each scenario once."""
    written, used = 0, set()
    for scenario in HISTORY_SCENARIOS:
        session_id = demo_id(seed, "session", scenario.name)
        if db.get(SupervisedSessionRow, session_id) is not None:
            continue
        target = epoch.date() - timedelta(days=scenario.days_before)
        # Ordinary patients only: a featured patient keeps the part the demo gives them, and the
        # scripted miss and drop-outs would move or stop the calendar under the scenario.
        options = []
        for person in _on_course(people, scenario.route):
            if person.role or person.index in used or person.course.dropped_out_after_day:
                continue
            if person.index % 7 == 2:
                continue
            entry = _history_entry(db, seed, person, target, epoch.date() - timedelta(days=1))
            if entry is not None:
                options.append((abs((entry.scheduled_on - target).days), person.index, person))
        if not options:
            continue  # a small demo without such a course at that time
        person = min(options, key=lambda o: (o[0], o[1]))[2]
        entry = _history_entry(db, seed, person, target, epoch.date() - timedelta(days=1))
        assert entry is not None
        tz = epoch.tzinfo
        assert tz is not None
        advance_calendar(
            db, person, course_plan_id(seed, person), until=entry.scheduled_on, now=epoch
        )
        t0 = datetime.combine(entry.scheduled_on, time(10, 0), tzinfo=tz)
        walk = Walk(db, person, KIND_OF_ROUTE[scenario.route], t0, now=epoch)
        if _book(walk, course_plan_id(seed, person), entry, "Chair 1", session_id):
            scenario.play(walk)
            used.add(person.index)
            written += 1
    return written


def _walk_of(
    db: Session, people: dict[str, DemoPatient], row: SupervisedSessionRow, now: datetime
) -> Walk:
    """The walk of a stored session, to carry it on."""
    entry = db.get(PlanSessionRow, row.plan_session_id) if row.plan_session_id else None
    kind = ProtocolKind(row.protocol_kind)
    walk = Walk(db, people[row.patient_id], kind, row.scheduled_for, now=now)
    walk.session_id = row.id
    if entry is not None:
        walk.entry = PlanEntry(entry.plan_id, entry.sequence, entry.id)
    return walk


def finish_earlier_days(
    db: Session, people: Sequence[DemoPatient], seed: int, epoch: datetime, now: datetime
) -> int:
    """Complete the visits of the days dealt before today (discharged, or not gone ahead)."""
    today = now.date()
    by_id = {p.patient_id: p for p in people}
    day, written = epoch.date(), 0
    while day < today:
        for scenario in DAY_SCENARIOS:
            row = db.get(SupervisedSessionRow, demo_id(seed, "session", scenario.name, day))
            if row is None or row.patient_id not in by_id:
                continue
            walk = _walk_of(db, by_id, row, now)
            if row.plan_session_id is None and row.state in PATH[:2]:
                # Booked outside a plan: nothing can be given, so the visit did not go ahead.
                if row.state == SessionState.SCHEDULED.value:
                    sessions.no_show(db, walk.ctx(60), row.id)
                else:
                    sessions.abort(db, walk.ctx(20), row.id, reason=_NO_PLAN)
                    sessions.sign(db, walk.ctx(30, PRESCRIBER), row.id)
                written += 1
            elif row.signed_at is None and row.state != SessionState.NO_SHOW.value:
                # The visit ends (discharged, or already stopped) and the prescriber signs.
                walk.finish(sign=True)
                written += 1
        day += timedelta(days=1)
    return written


def load_day_sessions(db: Session, people: Sequence[DemoPatient], seed: int, now: datetime) -> int:
    """Today's board for the day of ``now`` (in the clinic's time zone); each scenario once."""
    written, used = 0, set()
    # Scenarios that need a plan entry choose first; those that can do without one come after.
    chairs = {scenario.name: number for number, scenario in enumerate(DAY_SCENARIOS, start=1)}
    for scenario in sorted(DAY_SCENARIOS, key=lambda s: s.outside_plan_allowed):
        number = chairs[scenario.name]
        session_id = demo_id(seed, "session", scenario.name, now.date())
        if db.get(SupervisedSessionRow, session_id) is not None:
            continue
        t0 = now - timedelta(minutes=scenario.minutes_before)
        # Patients on the scenario's route first; others too where the scenario allows.
        routes = [scenario.route] + (
            [r for r in KIND_OF_ROUTE if r != scenario.route] if scenario.any_route else []
        )
        candidates = [
            p for route in routes for p in _on_course(people, route) if p.index not in used
        ]
        person = _deal(db, seed, scenario, candidates, t0, now, f"Chair {number}", session_id)
        if person is not None:
            used.add(person.index)
            written += 1
    return written


def giver(
    db: Session, seed: int, person: DemoPatient, now: datetime, tally: Counter[str]
) -> Callable[[PlanSessionRow, bool], None]:
    """For ``advance_calendar``: the session of a past calendar entry, booked and charted in full
    (the patient came in the morning, sat in their usual chair, was discharged and signed off), or
    a no-show for an entry the patient missed; counted in ``tally``."""
    plan_id = course_plan_id(seed, person)

    def give(entry: PlanSessionRow, missed: bool) -> None:
        rng = np.random.default_rng([seed, person.index, entry.sequence, 7])
        start = time(8, 0)
        t0 = datetime.combine(entry.scheduled_on, start, tzinfo=now.tzinfo) + timedelta(
            minutes=15 * int(rng.integers(0, 21))
        )
        if t0 + timedelta(hours=3) > now:
            return  # not over yet: the day's board deals it
        session_id = demo_id(seed, "session", "plan", plan_id, entry.sequence)
        walk = Walk(db, person, KIND_OF_ROUTE[person.course.route], t0, now=now)
        chair = f"Chair {person.index % 6 + 1}"
        if not _book(walk, plan_id, entry, chair, session_id):
            return
        if missed:
            sessions.no_show(db, walk.ctx(60), session_id)
        else:
            walk.finish(sign=True)
        tally[PAST_SESSIONS] += 1

    return give


def keep_up_paperwork(db: Session, people: Sequence[DemoPatient], seed: int, now: datetime) -> int:
    """Submit the REMS forms of sessions before yesterday, the day after each session (the
    clinic keeps up); yesterday's and today's stay due, and the serious event's stays overdue."""
    ours = {p.patient_id for p in people}
    left_overdue = demo_id(seed, "session", "esk-serious-transfer")
    submitted = 0
    for form in rems.form_summaries(db, today=now.date()):
        if form.status == "submitted" or form.patient_id not in ours:
            continue
        row = db.get(SupervisedSessionRow, form.session_id)
        if row is None or row.id == left_overdue:
            continue
        day = row.scheduled_for.astimezone(now.tzinfo).date()
        if day >= now.date() - timedelta(days=1):
            continue
        submit_form(db, row.id, datetime.combine(day + timedelta(days=1), time(17, 0), now.tzinfo))
        submitted += 1
    return submitted
