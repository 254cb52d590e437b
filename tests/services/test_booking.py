"""Booking a signed plan's sessions and rescheduling a missed one, through the services.

The IV calendar (from Wednesday 4 March 2026) is Wed 4, Fri 6, Mon 9, Wed 11, Fri 13, Mon 16;
the protocol's minimum interval and frequency (three a week) come from its data file.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from signed_plans import ESK_PROTOCOL, IV3, at_nine, signed_plan
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketaclinic.clinical.policy import ProtocolKind
from ketaclinic.clinical.protocols import get_protocol
from ketaclinic.clinical.session_scales import scales_for
from ketaclinic.errors import InvalidInput, PermissionDenied, RuleViolation
from ketaclinic.services import booking, sessions
from ketaclinic.services.audit import AuditFilter, search_events
from ketaclinic.services.booking import Booking
from ketaclinic.services.context import Actor, RequestContext
from ketaclinic.storage.tables.planning import PlanSessionRow
from ketaclinic.storage.tables.sessions import SupervisedSessionRow
from support.clinic import CLINIC_NOW, NURSE, PRESCRIBER, context


def _row(db: Session, session_id: str) -> SupervisedSessionRow:
    row = db.get(SupervisedSessionRow, session_id)
    assert row is not None
    return row


def test_booking_takes_protocol_clinician_and_scales_from_the_signed_plan(db: Session) -> None:
    plan = signed_plan(db)
    first, second = plan.live_sessions[:2]
    booked = booking.book_sessions(
        db, context(NURSE), plan.plan_id,
        [Booking(first.sequence, at_nine(first.scheduled_on), "Chair 3", "Room B"),
         Booking(second.sequence, at_nine(second.scheduled_on, 14, 30), "Chair 1", None)],
    )  # fmt: skip
    assert len(booked) == 2
    row = _row(db, booked[0])
    entry = db.get(PlanSessionRow, row.plan_session_id)
    assert entry is not None
    assert (entry.plan_id, entry.sequence) == (plan.plan_id, 0)
    assert (row.protocol_kind, row.protocol_id) == (ProtocolKind.IV_RACEMIC.value, IV3)
    assert row.responsible_clinician == PRESCRIBER.display_name == plan.signed_by
    assert row.with_bprs is scales_for(IV3).bprs_positive
    assert (row.chair, row.room, row.scheduled_for) == (
        "Chair 3",
        "Room B",
        at_nine(first.scheduled_on),
    )
    assert row.weight_kg == 80.0  # the latest recorded weight, not typed
    sheet = booking.booking_sheet(db, context(NURSE), plan.plan_id)
    assert [line.session_id for line in sheet.lines[:2]] == booked
    assert [line.bookable for line in sheet.lines] == [False, False, True, True, True, True]
    actions = [e.action for e in search_events(db, AuditFilter(patient_id=plan.patient_id))]
    assert actions[:4] == [
        "plan.bookings.read",
        "plan.sessions.book",
        "session.schedule",
        "session.schedule",
    ]


def test_an_esketamine_plan_books_esketamine_sessions(db: Session) -> None:
    plan = signed_plan(db, ESK_PROTOCOL, "esketamine-intranasal")
    first = plan.live_sessions[0]
    [sid] = booking.book_sessions(
        db,
        context(PRESCRIBER),
        plan.plan_id,
        [Booking(first.sequence, at_nine(first.scheduled_on))],
    )
    record = sessions.get_session(db, context(NURSE), sid)
    assert record.protocol_kind is ProtocolKind.INTRANASAL_ESKETAMINE
    assert booking.protocol_kind_of(get_protocol(ESK_PROTOCOL)).is_rems


def test_only_a_signed_plan_is_booked(db: Session) -> None:
    plan = signed_plan(db, sign=False)
    first = plan.live_sessions[0]
    with pytest.raises(RuleViolation, match="a prescriber must sign it first"):
        booking.book_sessions(
            db, context(NURSE), plan.plan_id, [Booking(first.sequence, at_nine(first.scheduled_on))]
        )
    assert db.scalars(select(SupervisedSessionRow)).all() == []


def test_another_day_must_keep_the_calendar_rules_and_a_bad_row_books_nothing(
    db: Session,
) -> None:
    plan = signed_plan(db)
    minimum = get_protocol(IV3).limits.min_interval_days
    nurse = context(NURSE)
    # Saturday 7 March: closed.
    with pytest.raises(InvalidInput, match="closed on Sat 2026-03-07") as closed:
        booking.book_sessions(db, nurse, plan.plan_id, [Booking(1, at_nine(date(2026, 3, 7)))])
    assert closed.value.field == "date_1"
    # Session 2 moved to Thursday 5 March: one day after Wednesday's session 1.
    with pytest.raises(InvalidInput, match=f"minimum interval is {minimum} day") as close:
        booking.book_sessions(
            db, nurse, plan.plan_id,
            [Booking(0, at_nine(date(2026, 3, 4))), Booking(1, at_nine(date(2026, 3, 5)))],
        )  # fmt: skip
    assert close.value.field == "date_1"
    assert db.scalars(select(SupervisedSessionRow)).all() == []  # all or nothing
    # Tuesday 3 March instead of Wednesday 4 for session 1 keeps the rules: accepted.
    [sid] = booking.book_sessions(db, nurse, plan.plan_id, [Booking(0, at_nine(date(2026, 3, 3)))])
    assert _row(db, sid).scheduled_for.date() == date(2026, 3, 3)
    # Session 2 on Wednesday 4 is now one day after the booked Tuesday: too close.
    with pytest.raises(InvalidInput, match="1 day\\(s\\) from the session on 2026-03-03"):
        booking.book_sessions(db, nurse, plan.plan_id, [Booking(1, at_nine(date(2026, 3, 4)))])


def test_booked_twice_past_days_and_long_names_are_refused(db: Session) -> None:
    plan = signed_plan(db)
    nurse = context(NURSE)
    booking.book_sessions(db, nurse, plan.plan_id, [Booking(0, at_nine(date(2026, 3, 4)))])
    with pytest.raises(RuleViolation, match="Session 1 is already booked"):
        booking.book_sessions(db, nurse, plan.plan_id, [Booking(0, at_nine(date(2026, 3, 4)))])
    with pytest.raises(InvalidInput, match="has passed") as past:
        booking.book_sessions(
            db, nurse, plan.plan_id, [Booking(1, at_nine(CLINIC_NOW.date() - timedelta(days=1)))]
        )
    assert past.value.field == "date_1"
    with pytest.raises(InvalidInput) as long_name:
        booking.book_sessions(
            db, nurse, plan.plan_id, [Booking(1, at_nine(date(2026, 3, 6)), chair="C" * 41)]
        )
    assert long_name.value.field == "chair_1"
    with pytest.raises(InvalidInput, match="not in the plan's calendar"):
        booking.book_sessions(db, nurse, plan.plan_id, [Booking(40, at_nine(date(2026, 3, 6)))])
    researcher = context(Actor(None, "researcher", "Rea Search"))
    with pytest.raises(PermissionDenied):
        booking.book_sessions(db, researcher, plan.plan_id, [Booking(1, at_nine(date(2026, 3, 6)))])


def test_the_database_refuses_a_second_session_for_one_calendar_entry(db: Session) -> None:
    plan = signed_plan(db)
    [sid] = booking.book_sessions(
        db, context(NURSE), plan.plan_id, [Booking(0, at_nine(date(2026, 3, 4)))]
    )
    entry = _row(db, sid).plan_session_id
    with pytest.raises(IntegrityError):
        sessions.schedule_session(
            db, context(NURSE), plan.patient_id, "iv-racemic", at_nine(date(2026, 3, 4)),
            plan_session_id=entry,
        )  # fmt: skip
    db.rollback()


def test_a_no_show_moves_the_course_and_its_bookings_forward(db: Session) -> None:
    plan = signed_plan(db)
    nurse = context(NURSE)
    first, second, third = booking.book_sessions(
        db, nurse, plan.plan_id,
        [Booking(0, at_nine(date(2026, 3, 4), 10), "Chair 2", "Room A"),
         Booking(1, at_nine(date(2026, 3, 6), 11), "Chair 4", None),
         Booking(2, at_nine(date(2026, 3, 9), 12), "Chair 5", None)],
    )  # fmt: skip
    wednesday = context(NURSE, at_nine(date(2026, 3, 4), 11))
    with pytest.raises(RuleViolation, match="Only a missed session"):
        booking.reschedule_missed(db, wednesday, first)
    sessions.no_show(db, wednesday, first)

    new = booking.reschedule_missed(db, wednesday, first)

    sheet = booking.booking_sheet(db, wednesday, plan.plan_id)
    assert {line.sequence: line.calendar_status for line in sheet.lines}[0] == "missed"
    # From tomorrow (Thursday 5), keeping two days apart and weekends closed: Thu 5, Mon 9, Wed 11;
    # each booking keeps its time of day, chair and room.
    booked = {
        line.session_id: (line.booked_for, line.chair, line.room, line.replaces_sequence)
        for line in sheet.lines
        if line.session_id in (new, second, third)
    }
    assert booked == {
        new: (at_nine(date(2026, 3, 5), 10), "Chair 2", "Room A", 0),
        second: (at_nine(date(2026, 3, 9), 11), "Chair 4", None, 1),
        third: (at_nine(date(2026, 3, 11), 12), "Chair 5", None, 2),
    }
    moved = [line for line in sheet.lines if line.session_id in (second, third)]
    assert all(line.booked_for and line.booked_for.date() == line.planned_on for line in moved)
    actions = [e.action for e in search_events(db, AuditFilter(patient_id=plan.patient_id))]
    assert "session.reschedule" in actions
    assert "plan.session.missed" in actions
    with pytest.raises(RuleViolation, match="Only a missed session"):
        booking.reschedule_missed(db, wednesday, first)


def test_a_session_not_booked_from_a_plan_is_not_rescheduled(db: Session) -> None:
    plan = signed_plan(db)
    walk_in = sessions.schedule_session(
        db, context(NURSE), plan.patient_id, "iv-racemic", at_nine(date(2026, 3, 2), 11)
    )
    sessions.no_show(db, context(NURSE, at_nine(date(2026, 3, 2), 12)), walk_in.session_id)
    with pytest.raises(RuleViolation, match="not booked from a plan"):
        booking.reschedule_missed(db, context(NURSE), walk_in.session_id)


def test_days_and_times_of_day_are_the_clinics(db: Session) -> None:
    """A New York clinic books 20:00 on Wednesday 4 March (01:00 UTC on Thursday 5): the clinic's
    day decides the calendar rules, and a missed session moves at the same local time."""
    new_york = ZoneInfo("America/New_York")
    plan = signed_plan(db)
    nurse = RequestContext(NURSE, CLINIC_NOW, new_york)
    evening = datetime(2026, 3, 4, 20, 0, tzinfo=new_york)
    first, second = booking.book_sessions(
        db, nurse, plan.plan_id, [Booking(0, evening), Booking(1, evening + timedelta(days=2))]
    )
    assert _row(db, first).scheduled_for == datetime(2026, 3, 5, 1, 0, tzinfo=UTC)
    thursday = RequestContext(NURSE, datetime(2026, 3, 5, 14, 0, tzinfo=UTC), new_york)
    sessions.no_show(db, thursday, first)
    new = booking.reschedule_missed(db, thursday, first)
    # From Friday 6 (tomorrow in New York) keeping two days apart: Fri 6, then Mon 9, both 20:00.
    assert _row(db, new).scheduled_for.astimezone(new_york) == evening + timedelta(days=2)
    assert _row(db, second).scheduled_for.astimezone(new_york) == evening + timedelta(days=5)


def test_a_missed_session_is_not_moved_past_one_already_given(db: Session) -> None:
    plan = signed_plan(db)
    nurse = context(NURSE)
    first, second = booking.book_sessions(
        db, nurse, plan.plan_id,
        [Booking(0, at_nine(date(2026, 3, 4))), Booking(1, at_nine(date(2026, 3, 6)))],
    )  # fmt: skip
    sessions.no_show(db, context(NURSE, at_nine(date(2026, 3, 4), 11)), first)
    # Noticed only on Friday, after the second session's patient had checked in.
    friday = context(NURSE, at_nine(date(2026, 3, 6), 10))
    sessions.check_in(db, friday, second)
    with pytest.raises(RuleViolation, match="Session 2, after this one, has already started"):
        booking.reschedule_missed(db, friday, first)
    assert [line.calendar_status for line in booking.booking_sheet(db, friday, plan.plan_id).lines][
        :2
    ] == ["planned", "planned"]
