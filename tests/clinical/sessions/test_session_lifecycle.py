"""The session state machine: the allowed path, every forbidden step, and step records."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ketaclinic.clinical.sessions.lifecycle import (
    TERMINAL_STATES,
    TRANSITIONS,
    SessionEvent,
    SessionState,
    make_step,
    transition,
)
from ketaclinic.errors import InvalidInput, RuleViolation

S, E = SessionState, SessionEvent
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

HAPPY_PATH = [
    (E.CHECK_IN, S.CHECKED_IN),
    (E.PASS_PREDOSE, S.PREDOSE_PASSED),
    (E.START_DOSING, S.DOSING),
    (E.END_DOSING, S.MONITORING),
    (E.MARK_READY, S.READY_FOR_DISCHARGE),
    (E.DISCHARGE, S.DISCHARGED),
]


def test_happy_path_from_scheduled_to_discharged() -> None:
    state = S.SCHEDULED
    for event, expected in HAPPY_PATH:
        state = transition(state, event)
        assert state is expected


def test_no_show_and_abort_end_a_session() -> None:
    assert transition(S.SCHEDULED, E.NO_SHOW) is S.NO_SHOW
    for state in (
        S.SCHEDULED,
        S.CHECKED_IN,
        S.PREDOSE_PASSED,
        S.DOSING,
        S.MONITORING,
        S.READY_FOR_DISCHARGE,
    ):
        assert transition(state, E.ABORT) is S.ABORTED


def test_ready_patient_can_go_back_to_monitoring() -> None:
    assert transition(S.READY_FOR_DISCHARGE, E.RESUME_MONITORING) is S.MONITORING


FORBIDDEN = [
    (state, event)
    for state in SessionState
    for event in SessionEvent
    if event not in TRANSITIONS[state]
]


@pytest.mark.parametrize(("state", "event"), FORBIDDEN, ids=lambda x: str(x))
def test_every_forbidden_transition_is_refused_with_the_allowed_steps(
    state: SessionState, event: SessionEvent
) -> None:
    with pytest.raises(RuleViolation) as err:
        transition(state, event)
    message = err.value.message
    assert f"'{state.value}'" in message
    assert f"'{event.value}'" in message
    allowed = TRANSITIONS[state]
    if allowed:
        assert all(e.value in message for e in allowed)
    else:
        assert "closed" in message


def test_forbidden_examples_a_nurse_would_try() -> None:
    # Discharging straight from dosing, dosing before pre-dose checks, re-opening a discharge.
    for state, event in [
        (S.DOSING, E.DISCHARGE),
        (S.CHECKED_IN, E.START_DOSING),
        (S.DISCHARGED, E.CHECK_IN),
    ]:
        with pytest.raises(RuleViolation):
            transition(state, event)
    assert len(FORBIDDEN) == len(SessionState) * len(SessionEvent) - sum(
        len(v) for v in TRANSITIONS.values()
    )


def test_terminal_states() -> None:
    assert {S.DISCHARGED, S.ABORTED, S.NO_SHOW} == TERMINAL_STATES


def test_unknown_state_or_event_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="Unknown session step"):
        transition(S.SCHEDULED, "teleport")
    with pytest.raises(InvalidInput, match="Unknown session state"):
        transition("sleeping", E.CHECK_IN)


def test_step_records_time_person_and_reason() -> None:
    step = make_step(
        S.MONITORING, E.ABORT, at=AT, by="Nora", reason="transferred to emergency care"
    )
    assert (step.from_state, step.to_state, step.at, step.by) == (
        S.MONITORING,
        S.ABORTED,
        AT,
        "Nora",
    )
    with pytest.raises(InvalidInput, match="reason"):
        make_step(S.MONITORING, E.ABORT, at=AT, by="Nora")
    with pytest.raises(InvalidInput, match="person"):
        make_step(S.SCHEDULED, E.CHECK_IN, at=AT, by="  ")
    with pytest.raises(InvalidInput, match="time zone"):
        make_step(S.SCHEDULED, E.CHECK_IN, at=datetime(2026, 3, 2, 9, 0), by="Nora")
