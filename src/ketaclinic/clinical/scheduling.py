"""Session calendars for a treatment plan: clinic days, minimum intervals, missed sessions.

The calendar spaces sessions evenly for the phase's sessions per week (thrice weekly lands on
Mon/Wed/Fri, twice weekly on Mon/Thu), never closer than the protocol's minimum interval, never
on a day the clinic is closed, and never more sessions in any seven days than the phase allows.
Dates are passed in; nothing reads a clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ketaclinic.clinical.eligibility import (
    DecisionClass,
    EligibilityDecision,
    Treatment,
    rule_set_for,
)
from ketaclinic.clinical.overrides import Override
from ketaclinic.clinical.protocols import Phase, Protocol
from ketaclinic.errors import InvalidInput, RuleViolation

WEEKDAYS: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday..Friday, as date.weekday() numbers
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Give up looking for an open day after this long: a calendar with no open day is an error.
_MAX_SEARCH_DAYS = 366


class PlannedSession(BaseModel):
    model_config = ConfigDict(frozen=True)

    index: int
    on: date
    phase_id: str
    phase_kind: Literal["induction", "maintenance"]
    number_in_phase: int
    sessions_per_week: float
    min_interval_days: int
    status: Literal["planned", "missed"] = "planned"
    replaces_index: int | None = None
    review_action: str | None = None

    @property
    def weekday(self) -> str:
        return _DAY_NAMES[self.on.weekday()]


def _validate_days(clinic_days: Iterable[int]) -> frozenset[int]:
    days = frozenset(clinic_days)
    if not days or not days <= set(range(7)):
        raise InvalidInput(
            "Clinic days must be a non-empty set of weekday numbers 0 (Monday) to 6 (Sunday).",
            field="clinic_days",
        )
    return days


def _open_on_or_after(day: date, clinic_days: frozenset[int], holidays: frozenset[date]) -> date:
    for offset in range(_MAX_SEARCH_DAYS):
        candidate = day + timedelta(days=offset)
        if candidate.weekday() in clinic_days and candidate not in holidays:
            return candidate
    raise InvalidInput(f"The clinic has no open day within a year of {day}.", field="holidays")


def _gap_days(sessions_per_week: float, min_interval_days: int) -> int:
    even = (
        math.floor(7 / sessions_per_week)
        if sessions_per_week >= 1
        else round(7 / sessions_per_week)
    )
    return max(min_interval_days, even, 1)


def _too_many_this_week(candidate: date, placed: Sequence[date], sessions_per_week: float) -> bool:
    if sessions_per_week < 1:
        return False
    window_start = candidate - timedelta(days=6)
    in_window = sum(1 for d in placed if window_start <= d < candidate)
    return in_window >= math.ceil(sessions_per_week)


def next_session_date(
    previous: Sequence[date],
    earliest: date,
    sessions_per_week: float,
    min_interval_days: int,
    clinic_days: frozenset[int],
    holidays: frozenset[date],
) -> date:
    """The first open day on or after ``earliest`` that keeps spacing and weekly frequency."""
    candidate = earliest
    if previous:
        candidate = max(
            earliest, previous[-1] + timedelta(days=_gap_days(sessions_per_week, min_interval_days))
        )
    candidate = _open_on_or_after(candidate, clinic_days, holidays)
    while _too_many_this_week(candidate, previous, sessions_per_week):
        candidate = _open_on_or_after(candidate + timedelta(days=1), clinic_days, holidays)
    return candidate


def _phases(protocol: Protocol, maintenance_option: str | None) -> list[Phase]:
    phases = list(protocol.phases)
    if maintenance_option is not None:
        option = protocol.maintenance_option(maintenance_option)
        if option is None:
            known = ", ".join(p.id for p in protocol.maintenance_options) or "none"
            raise InvalidInput(
                f"{protocol.id} has no maintenance option '{maintenance_option}' "
                f"(options: {known}).",
                field="maintenance_option",
            )
        phases.append(option)
    return phases


def build_schedule(
    protocol: Protocol,
    start_date: date,
    clinic_days: Iterable[int] = WEEKDAYS,
    holidays: Iterable[date] = (),
    *,
    maintenance_option: str | None = None,
) -> list[PlannedSession]:
    """Every session of the protocol's phases (and one maintenance option, if chosen)."""
    days = _validate_days(clinic_days)
    closed = frozenset(holidays)
    minimum = protocol.limits.min_interval_days
    placed: list[date] = []
    sessions: list[PlannedSession] = []
    for phase in _phases(protocol, maintenance_option):
        for number in range(1, phase.session_count + 1):
            on = next_session_date(
                placed, start_date, phase.sessions_per_week, minimum, days, closed
            )
            placed.append(on)
            last = number == phase.session_count
            sessions.append(
                PlannedSession(
                    index=len(sessions),
                    on=on,
                    phase_id=phase.id,
                    phase_kind=phase.kind,
                    number_in_phase=number,
                    sessions_per_week=phase.sessions_per_week,
                    min_interval_days=minimum,
                    review_action=phase.review_action if last else None,
                )
            )
    return sessions


def reschedule_after_missed(
    schedule: Sequence[PlannedSession],
    missed_index: int,
    today: date,
    clinic_days: Iterable[int] = WEEKDAYS,
    holidays: Iterable[date] = (),
) -> list[PlannedSession]:
    """Mark a session missed and move it and every later session forward from ``today``.

    The missed session stays in the list (status ``missed``) so the record shows it; its
    replacement and the sessions after it keep their phase, number and review points.
    """
    if not 0 <= missed_index < len(schedule):
        raise InvalidInput(
            f"Session {missed_index} does not exist; the plan has sessions 0-{len(schedule) - 1}.",
            field="missed_index",
        )
    missed = schedule[missed_index]
    if missed.status != "planned":
        raise InvalidInput(f"Session {missed_index} is already marked {missed.status}.")
    if today < missed.on:
        raise InvalidInput(
            f"Session {missed_index} is planned for {missed.on}; it cannot be missed on {today}.",
            field="today",
        )
    days = _validate_days(clinic_days)
    closed = frozenset(holidays)
    kept = list(schedule[:missed_index])
    result = [*kept, missed.model_copy(update={"status": "missed"})]
    attended = [s.on for s in kept if s.status == "planned"]
    for offset, original in enumerate(schedule[missed_index:]):
        if original.status != "planned":
            continue
        on = next_session_date(
            attended, today, original.sessions_per_week, original.min_interval_days, days, closed
        )
        attended.append(on)
        update: dict[str, object] = {"index": len(result), "on": on}
        if offset == 0:
            update["replaces_index"] = original.index
        result.append(original.model_copy(update=update))
    return result


def check_session_date(
    on: date,
    others: Iterable[date],
    sessions_per_week: float,
    min_interval_days: int,
    clinic_days: Iterable[int] = WEEKDAYS,
    holidays: Iterable[date] = (),
    *,
    field: str = "date",
) -> None:
    """Refuse a session moved to ``on`` (a booking on another day than the calendar's) if it
    breaks the rules the calendar keeps: an open clinic day, the protocol's minimum interval from
    the course's other sessions, and no more sessions in any window than the phase allows (a week
    for weekly or more often; for less often, the phase's own spacing, e.g. 14 days)."""
    days = _validate_days(clinic_days)
    if on.weekday() not in days or on in frozenset(holidays):
        open_days = ", ".join(_DAY_NAMES[d] for d in sorted(days))
        raise InvalidInput(
            f"The clinic is closed on {_DAY_NAMES[on.weekday()]} {on}; choose an open day "
            f"({open_days}, holidays excepted).",
            field=field,
        )
    placed = sorted(others)
    gap = max(min_interval_days, 1)
    for other in placed:
        if abs((on - other).days) < gap:
            raise InvalidInput(
                f"{on} is {abs((on - other).days)} day(s) from the session on {other}; the "
                f"protocol's minimum interval is {gap} day(s).",
                field=field,
            )
    window = 7 if sessions_per_week >= 1 else round(7 / sessions_per_week)
    allowed = math.ceil(sessions_per_week) if sessions_per_week >= 1 else 1
    for start_offset in range(window):
        start = on - timedelta(days=start_offset)
        end = start + timedelta(days=window - 1)
        count = 1 + sum(1 for d in placed if start <= d <= end)
        if count > allowed:
            raise InvalidInput(
                f"{on} would make {count} sessions in the {window} days from {start}; this "
                f"phase allows {allowed}.",
                field=field,
            )


class TreatmentPlan(BaseModel):
    """A patient, a protocol, a prescriber and a start date, with the session calendar."""

    model_config = ConfigDict(frozen=True)

    patient_id: str
    protocol_id: str
    prescriber_id: str
    start_date: date
    maintenance_option: str | None
    sessions: tuple[PlannedSession, ...]
    screening_decision: str
    overrides: tuple[Override, ...] = ()

    @property
    def review_points(self) -> list[PlannedSession]:
        return [s for s in self.sessions if s.review_action and s.status == "planned"]


def create_plan(
    *,
    patient_id: str,
    protocol: Protocol,
    prescriber_id: str,
    start_date: date,
    decision: EligibilityDecision,
    clinic_days: Iterable[int] = WEEKDAYS,
    holidays: Iterable[date] = (),
    maintenance_option: str | None = None,
) -> TreatmentPlan:
    """Plan a course, refusing it while screening blocks it or is incomplete.

    A blocking finding raises ``OverrideRequired`` (the screening must be repeated with the
    prescriber's override); missing information cannot be overridden: complete the screening.
    """
    if not patient_id.strip() or not prescriber_id.strip():
        raise InvalidInput("A plan needs the patient and the prescriber.", field="prescriber_id")
    screened_for = rule_set_for(Treatment(decision.treatment))
    if protocol.id not in screened_for.protocols:
        raise InvalidInput(
            f"The screening was for {decision.treatment}, which does not cover {protocol.id} "
            f"(covers: {', '.join(screened_for.protocols)}). Screen for the right treatment.",
            field="protocol",
        )
    decision.require_plan_allowed()
    if decision.decision is DecisionClass.MORE_INFORMATION_NEEDED:
        missing = [f.title for f in decision.findings if f.status == "unknown"]
        raise RuleViolation(
            "Screening is incomplete; record the missing information and screen again before "
            f"planning: {'; '.join(missing) or 'see the screening findings'}."
        )
    sessions = build_schedule(
        protocol, start_date, clinic_days, holidays, maintenance_option=maintenance_option
    )
    return TreatmentPlan(
        patient_id=patient_id,
        protocol_id=protocol.id,
        prescriber_id=prescriber_id,
        start_date=start_date,
        maintenance_option=maintenance_option,
        sessions=tuple(sessions),
        screening_decision=decision.decision.value,
        overrides=decision.overrides,
    )
