"""Booking a signed plan's sessions (a date, time, chair and room for each calendar entry) and
rescheduling a session the patient missed.

The plan's calendar (``plan_calendar``) stays the prescriber's plan; a booking carries out one
entry by creating the supervised session (``sessions.schedule_session``) with the protocol, the
BPRS+ choice (``clinical.session_scales``) and the responsible clinician (the prescriber who
signed) taken from the plan, never retyped. A booking on another day than the calendar's must
keep the calendar's rules (``scheduling.check_session_date``: an open day, the protocol's minimum
interval, the phase's frequency); every booking is checked against the course's other dates.

A session the patient missed (a no-show, or stopped before any dose) is rescheduled through the
calendar (``plan_calendar.mark_missed``): its entry and every later one move forward from today,
the later bookings move with them (same time of day, chair and room), and the missed entry's
replacement is booked. Times are stored in UTC; days and times of day are the clinic's
(``ctx.clinic_tz``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical.policy import ProtocolKind
from ketaclinic.clinical.protocols import Product, Protocol, get_protocol
from ketaclinic.clinical.scheduling import check_session_date
from ketaclinic.clinical.session_scales import scales_for
from ketaclinic.clinical.sessions.lifecycle import SessionState
from ketaclinic.errors import ConfigurationError, InvalidInput, NotFound, RuleViolation
from ketaclinic.services import plan_calendar, sessions
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import RequestContext
from ketaclinic.services.plan_records import (
    LIVE_STATUSES,
    STAFF_ROLES,
    PlanRecord,
    audit_plan,
    plan_row,
    require_role,
    session_rows,
    to_plan_record,
)
from ketaclinic.storage.database import atomic
from ketaclinic.storage.tables.planning import PlanSessionRow, TreatmentPlanRow
from ketaclinic.storage.tables.sessions import SessionDosingRow, SupervisedSessionRow

# Longest chair or room name the session table holds.
_PLACE_CHARACTERS = 40


@dataclass(frozen=True)
class Booking:
    """One calendar entry (by its sequence number) booked at a time, in a chair or room."""

    sequence: int
    starts_at: datetime
    chair: str | None = None
    room: str | None = None
    # The new session's id (default: a fresh one); a loader that books idempotently passes its own.
    session_id: str | None = None


@dataclass(frozen=True)
class BookingLine:
    """A calendar entry with the session booked for it, if any."""

    plan_session_id: str
    sequence: int
    planned_on: date
    phase_id: str
    phase_kind: str
    number_in_phase: int
    review_action: str | None
    calendar_status: str
    replaces_sequence: int | None
    session_id: str | None = None
    booked_for: datetime | None = None
    chair: str | None = None
    room: str | None = None
    session_state: str | None = None
    dosed: bool = False

    @property
    def bookable(self) -> bool:
        return self.calendar_status == "planned" and self.session_id is None

    @property
    def reschedulable(self) -> bool:
        """Missed: the patient did not come, or the session stopped before any dose."""
        return self.calendar_status == "planned" and (
            self.session_state == SessionState.NO_SHOW.value
            or (self.session_state == SessionState.ABORTED.value and not self.dosed)
        )


@dataclass(frozen=True)
class BookingSheet:
    plan: PlanRecord
    protocol: Protocol
    protocol_kind: ProtocolKind
    responsible_clinician: str
    with_bprs: bool
    lines: list[BookingLine]

    @property
    def bookable(self) -> list[BookingLine]:
        return [line for line in self.lines if line.bookable]


def protocol_kind_of(protocol: Protocol) -> ProtocolKind:
    """The session rules' kind for a protocol: esketamine is the REMS kind; racemic by route."""
    for kind in ProtocolKind:
        esketamine = protocol.product is Product.ESKETAMINE
        if kind.route == protocol.route and kind.is_rems == esketamine:
            return kind
    raise ConfigurationError(
        f"Protocol {protocol.id} ({protocol.product.value}, {protocol.route.value}) has no "
        "session kind; sessions cannot be booked for it."
    )


def _responsible(plan: TreatmentPlanRow) -> str:
    # The prescriber who signed took responsibility for the course; tasks are assigned to them.
    return plan.signed_by_name or plan.prescriber_name


def _booked(db: Session, rows: Sequence[PlanSessionRow]) -> dict[str, SupervisedSessionRow]:
    ids = [r.id for r in rows]
    found = db.scalars(
        select(SupervisedSessionRow).where(SupervisedSessionRow.plan_session_id.in_(ids))
    )
    return {s.plan_session_id: s for s in found if s.plan_session_id is not None}


def _lines(db: Session, plan_id: str) -> list[BookingLine]:
    rows = session_rows(db, plan_id)
    booked = _booked(db, rows)
    dosed = set(
        db.scalars(
            select(SessionDosingRow.session_id).where(
                SessionDosingRow.session_id.in_([s.id for s in booked.values()])
            )
        )
    )
    lines = []
    for row in rows:
        if row.status not in LIVE_STATUSES:
            continue
        session = booked.get(row.id)
        lines.append(
            BookingLine(
                plan_session_id=row.id, sequence=row.sequence, planned_on=row.scheduled_on,
                phase_id=row.phase_id, phase_kind=row.phase_kind,
                number_in_phase=row.number_in_phase, review_action=row.review_action,
                calendar_status=row.status, replaces_sequence=row.replaces_sequence,
                session_id=session.id if session else None,
                booked_for=session.scheduled_for if session else None,
                chair=session.chair if session else None, room=session.room if session else None,
                session_state=session.state if session else None,
                dosed=session is not None and session.id in dosed,
            )
        )  # fmt: skip
    return lines


def booking_sheet(db: Session, ctx: RequestContext, plan_id: str) -> BookingSheet:
    """The plan's calendar with what is booked for each entry (an audited read)."""
    require_role(ctx, STAFF_ROLES, "see a plan's bookings")
    plan = plan_row(db, plan_id)
    protocol = get_protocol(plan.protocol_id)
    sheet = BookingSheet(
        plan=to_plan_record(db, plan), protocol=protocol, protocol_kind=protocol_kind_of(protocol),
        responsible_clinician=_responsible(plan),
        with_bprs=scales_for(protocol.id).bprs_positive, lines=_lines(db, plan_id),
    )  # fmt: skip
    audit_plan(db, ctx, "plan.bookings.read", plan)
    return sheet


def _place(value: str | None, field: str) -> str | None:
    text = (value or "").strip()
    if len(text) > _PLACE_CHARACTERS:
        raise InvalidInput(f"Keep the name under {_PLACE_CHARACTERS} characters.", field=field)
    return text or None


def _clinic_day(moment: datetime, ctx: RequestContext) -> date:
    return moment.astimezone(ctx.clinic_tz).date()


def _same_time_on(day: date, moment: datetime, ctx: RequestContext) -> datetime:
    """``day`` at ``moment``'s clock time in the clinic (a 10:00 slot stays 10:00 locally)."""
    local = moment.astimezone(ctx.clinic_tz)
    return datetime.combine(day, local.time(), tzinfo=ctx.clinic_tz)


def _course_dates(
    lines: Sequence[BookingLine], moved: dict[int, date], leaving_out: int, ctx: RequestContext
) -> list[date]:
    """Every other live session's day: booked day where booked (or being booked), else planned."""
    dates = []
    for line in lines:
        if line.sequence == leaving_out or line.calendar_status == "missed":
            continue
        missed = line.session_state in (SessionState.NO_SHOW.value, SessionState.ABORTED.value)
        if missed and not line.dosed:
            continue  # nothing was given that day
        booked = _clinic_day(line.booked_for, ctx) if line.booked_for else None
        dates.append(moved.get(line.sequence, booked or line.planned_on))
    return dates


def _book_one(
    db: Session,
    ctx: RequestContext,
    plan: TreatmentPlanRow,
    lines: Sequence[BookingLine],
    booking: Booking,
    moved: dict[int, date],
) -> str:
    field = str(booking.sequence)
    line = next((x for x in lines if x.sequence == booking.sequence), None)
    if line is None:
        numbers = ", ".join(str(x.sequence + 1) for x in lines if x.bookable) or "none"
        raise InvalidInput(
            f"Session {booking.sequence + 1} is not in the plan's calendar (open to book: "
            f"{numbers}).",
            field=f"date_{field}",
        )
    if not line.bookable:
        state = line.session_state or line.calendar_status
        raise RuleViolation(
            f"Session {booking.sequence + 1} is already {'booked' if line.session_id else state}.",
            field=f"date_{field}",
        )
    if booking.starts_at.tzinfo is None:
        raise InvalidInput("The session time needs a time zone.", field=f"time_{field}")
    on = _clinic_day(booking.starts_at, ctx)
    if on < ctx.today:
        raise InvalidInput(
            f"{on} has passed; book today ({ctx.today}) or later.", field=f"date_{field}"
        )
    row = db.get(PlanSessionRow, line.plan_session_id)
    assert row is not None
    check_session_date(
        on, _course_dates(lines, moved, line.sequence, ctx), row.sessions_per_week,
        row.min_interval_days, plan.clinic_days,
        [date.fromisoformat(d) for d in plan.holidays], field=f"date_{field}",
    )  # fmt: skip
    moved[line.sequence] = on
    protocol = get_protocol(plan.protocol_id)
    record = sessions.schedule_session(
        db, ctx, plan.patient_id, protocol_kind_of(protocol), booking.starts_at,
        protocol_id=protocol.id, chair=_place(booking.chair, f"chair_{field}"),
        room=_place(booking.room, f"room_{field}"), responsible_clinician=_responsible(plan),
        with_bprs=scales_for(protocol.id).bprs_positive, plan_session_id=row.id,
        session_id=booking.session_id,
    )  # fmt: skip
    return record.session_id


def book_sessions(
    db: Session, ctx: RequestContext, plan_id: str, bookings: Sequence[Booking]
) -> list[str]:
    """Book calendar entries of a signed plan; all or nothing. Returns the new session ids.

    Errors name the field ``date_<n>``, ``time_<n>``, ``chair_<n>`` or ``room_<n>`` (n = the
    entry's sequence number), so a page can show each beside its row.
    """
    require_role(ctx, STAFF_ROLES, "book sessions")
    if not bookings:
        raise InvalidInput("Choose at least one session to book.", field="sessions")
    sequences = [b.sequence for b in bookings]
    if len(set(sequences)) != len(sequences):
        raise InvalidInput("Each session can be booked once.", field="sessions")
    with atomic(db):
        plan = plan_calendar.running_plan(db, plan_id)
        lines = _lines(db, plan_id)
        moved: dict[int, date] = {}
        booked = [
            _book_one(db, ctx, plan, lines, b, moved)
            for b in sorted(bookings, key=lambda b: b.sequence)
        ]
        audit_plan(
            db, ctx, "plan.sessions.book", plan, sequences=sorted(sequences), sessions=booked
        )
    return booked


_NOT_STARTED = (SessionState.SCHEDULED.value, SessionState.NO_SHOW.value)


def _missed_line(lines: Sequence[BookingLine], session_id: str) -> BookingLine:
    line = next((x for x in lines if x.session_id == session_id), None)
    if line is None:
        raise RuleViolation(
            "This session was not booked from a plan's calendar; book a new session instead.",
            field="session_id",
        )
    if not line.reschedulable:
        raise RuleViolation(
            f"Only a missed session can be rescheduled (a no-show, or stopped before any dose); "
            f"this one is {line.session_state}.",
            field="session_id",
        )
    # Moving the course forward would repeat a session already under way or given after it.
    later = lines[lines.index(line) + 1 :]
    given = [x for x in later if x.session_id and (x.dosed or x.session_state not in _NOT_STARTED)]
    if given:
        raise RuleViolation(
            f"Session {given[0].sequence + 1}, after this one, has already started or been given, "
            "so the course cannot move forward; ask the prescriber to amend the plan.",
            field="session_id",
        )
    return line


def reschedule_missed(
    db: Session,
    ctx: RequestContext,
    session_id: str,
    *,
    starts_at: datetime | None = None,
    chair: str | None = None,
    room: str | None = None,
) -> str:
    """Move a missed session and the rest of its course forward; book its replacement.

    The calendar places the entry on the first day from tomorrow that keeps its rules. Without
    ``starts_at`` the replacement takes that day at the missed session's time of day; chair and
    room default to the missed session's. Returns the new session id.
    """
    require_role(ctx, STAFF_ROLES, "reschedule a session")
    with atomic(db):
        session = db.get(SupervisedSessionRow, session_id)
        if session is None:
            raise NotFound(f"No session with id {session_id}.", field="session_id")
        entry = db.get(PlanSessionRow, session.plan_session_id) if session.plan_session_id else None
        plan_id = entry.plan_id if entry else ""
        missed = _missed_line(_lines(db, plan_id) if entry else [], session_id)
        # The calendar moves the entry to the first open day from tomorrow (the missed hour has
        # passed today), never before the entry's own day.
        earliest = max(ctx.today + timedelta(days=1), missed.planned_on)
        plan_calendar.mark_missed(db, ctx, plan_id, missed.sequence, today=earliest)
        after = _lines(db, plan_id)
        replacement_of = {x.replaces_sequence: x for x in after if x.replaces_sequence is not None}
        moved_sessions = []
        for old in _rows_moved(db, plan_id):
            new = replacement_of.get(old.sequence)
            booked = _booked(db, [old]).get(old.id)
            if new is None or booked is None or booked.state != SessionState.SCHEDULED.value:
                continue
            booked.plan_session_id = new.plan_session_id
            booked.scheduled_for = _same_time_on(new.planned_on, booked.scheduled_for, ctx)
            booked.updated_at = ctx.now
            moved_sessions.append(booked.id)
        db.flush()
        replacement = replacement_of[missed.sequence]
        when = starts_at or _same_time_on(replacement.planned_on, session.scheduled_for, ctx)
        plan = plan_row(db, plan_id)
        new_id = _book_one(
            db, ctx, plan, _lines(db, plan_id),
            Booking(replacement.sequence, when, chair if chair is not None else session.chair,
                    room if room is not None else session.room),
            {},
        )  # fmt: skip
        record_event(
            db, ctx.actor, "session.reschedule", "session", session_id,
            patient_id=session.patient_id,
            detail={"replacement": new_id, "moved": moved_sessions, "plan_id": plan_id},
            now=ctx.now,
        )  # fmt: skip
    return new_id


def _rows_moved(db: Session, plan_id: str) -> list[PlanSessionRow]:
    return [r for r in session_rows(db, plan_id) if r.status == "rescheduled"]


def plan_of_session(db: Session, session_id: str) -> str | None:
    """The plan a session was booked from (None for a walk-in or demo session)."""
    session = db.get(SupervisedSessionRow, session_id)
    if session is None:
        raise NotFound(f"No session with id {session_id}.", field="session_id")
    entry = db.get(PlanSessionRow, session.plan_session_id) if session.plan_session_id else None
    return entry.plan_id if entry else None
