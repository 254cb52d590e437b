"""Moving one session of a course to another day: the rules the calendar keeps (an open day, the
protocol's minimum interval, the phase's frequency) judged for a single date."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketaclinic.clinical.protocols import Protocol, all_protocols
from ketaclinic.clinical.scheduling import build_schedule, check_session_date
from ketaclinic.errors import InvalidInput

MONDAY = date(2026, 3, 2)
EVERY_DAY = range(7)


def test_a_closed_day_or_holiday_is_refused_naming_the_open_days() -> None:
    with pytest.raises(
        InvalidInput, match=r"closed on Sat 2026-03-07.*\(Mon, Tue, Wed, Thu, Fri"
    ) as e:
        check_session_date(date(2026, 3, 7), [], 3, 2)
    assert e.value.field == "date"
    with pytest.raises(InvalidInput, match="closed on Wed 2026-03-04"):
        check_session_date(date(2026, 3, 4), [], 3, 2, holidays=[date(2026, 3, 4)], field="date_3")


def test_the_minimum_interval_counts_from_every_other_session() -> None:
    others = [MONDAY, MONDAY + timedelta(days=7)]
    check_session_date(MONDAY + timedelta(days=2), others, 3, 2, EVERY_DAY)
    for too_close in (MONDAY, MONDAY + timedelta(days=1), MONDAY + timedelta(days=6)):
        with pytest.raises(InvalidInput, match="minimum interval is 2 day"):
            check_session_date(too_close, others, 3, 2, EVERY_DAY)
    # A minimum of 0 days still never puts two sessions on one day.
    with pytest.raises(InvalidInput, match="0 day\\(s\\) from the session"):
        check_session_date(MONDAY, [MONDAY], 3, 0, EVERY_DAY)


def test_no_more_sessions_in_a_window_than_the_phase_allows() -> None:
    # Mon, Wed, Fri are three a week; a fourth on Sunday keeps a two-day gap but makes four in
    # the seven days from Monday.
    week = [MONDAY, MONDAY + timedelta(days=2), MONDAY + timedelta(days=4)]
    with pytest.raises(
        InvalidInput, match="4 sessions in the 7 days from 2026-03-02; this phase allows 3"
    ):
        check_session_date(MONDAY + timedelta(days=6), week, 3, 2, EVERY_DAY)
    check_session_date(MONDAY + timedelta(days=7), week, 3, 2, EVERY_DAY)
    # Every two weeks: one session in any 14 days.
    with pytest.raises(InvalidInput, match="2 sessions in the 14 days"):
        check_session_date(MONDAY + timedelta(days=10), [MONDAY], 0.5, 2, EVERY_DAY)
    check_session_date(MONDAY + timedelta(days=14), [MONDAY], 0.5, 2, EVERY_DAY)


@settings(max_examples=40, deadline=None)
@given(
    protocol=st.sampled_from(all_protocols()),
    start=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)),
    option=st.integers(min_value=0, max_value=3),
)
def test_every_session_of_a_built_calendar_keeps_the_rules(
    protocol: Protocol, start: date, option: int
) -> None:
    """The calendar and the booking check agree: each planned date passes against the others."""
    options = [None, *(o.id for o in protocol.maintenance_options)]
    schedule = build_schedule(protocol, start, maintenance_option=options[option % len(options)])
    dates = [s.on for s in schedule]
    for index, session in enumerate(schedule):
        check_session_date(
            session.on, dates[:index] + dates[index + 1 :], session.sessions_per_week,
            session.min_interval_days,
        )  # fmt: skip
