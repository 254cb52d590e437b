"""The session state machine: which step may follow which, as one table.

scheduled -> checked-in -> pre-dose checks passed -> dosing -> monitoring -> ready for discharge
-> discharged; or no-show (from scheduled) or aborted with a reason. Once dosing has started an
abort means the patient left supervised care early (transfer to emergency care, leaving against
advice), so it is allowed from every active state; stopping a dose early is not an abort: the
patient goes on to monitoring like any other.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from ketaclinic.errors import InvalidInput, RuleViolation


class SessionState(StrEnum):
    SCHEDULED = "scheduled"
    CHECKED_IN = "checked-in"
    PREDOSE_PASSED = "predose-passed"
    DOSING = "dosing"
    MONITORING = "monitoring"
    READY_FOR_DISCHARGE = "ready-for-discharge"
    DISCHARGED = "discharged"
    ABORTED = "aborted"
    NO_SHOW = "no-show"


class SessionEvent(StrEnum):
    CHECK_IN = "check-in"
    PASS_PREDOSE = "pass-predose"
    START_DOSING = "start-dosing"
    END_DOSING = "end-dosing"
    MARK_READY = "mark-ready"
    RESUME_MONITORING = "resume-monitoring"
    DISCHARGE = "discharge"
    ABORT = "abort"
    NO_SHOW = "no-show"


S, E = SessionState, SessionEvent

TRANSITIONS: dict[SessionState, dict[SessionEvent, SessionState]] = {
    S.SCHEDULED: {E.CHECK_IN: S.CHECKED_IN, E.NO_SHOW: S.NO_SHOW, E.ABORT: S.ABORTED},
    S.CHECKED_IN: {E.PASS_PREDOSE: S.PREDOSE_PASSED, E.ABORT: S.ABORTED},
    S.PREDOSE_PASSED: {E.START_DOSING: S.DOSING, E.ABORT: S.ABORTED},
    S.DOSING: {E.END_DOSING: S.MONITORING, E.ABORT: S.ABORTED},
    S.MONITORING: {E.MARK_READY: S.READY_FOR_DISCHARGE, E.ABORT: S.ABORTED},
    S.READY_FOR_DISCHARGE: {
        E.DISCHARGE: S.DISCHARGED,
        # A new alert or a worse reading after "ready" sends the patient back to monitoring.
        E.RESUME_MONITORING: S.MONITORING,
        E.ABORT: S.ABORTED,
    },
    S.DISCHARGED: {},
    S.ABORTED: {},
    S.NO_SHOW: {},
}

TERMINAL_STATES = frozenset(state for state, nxt in TRANSITIONS.items() if not nxt)

# Events that must carry a written reason.
REASON_REQUIRED = frozenset({E.ABORT, E.RESUME_MONITORING})


def allowed_events(state: SessionState) -> list[SessionEvent]:
    return list(TRANSITIONS[state])


def transition(state: SessionState | str, event: SessionEvent | str) -> SessionState:
    """The state after ``event``, or RuleViolation naming the state and the allowed next steps."""
    try:
        current = SessionState(state)
    except ValueError:
        raise InvalidInput(
            f"Unknown session state {state!r}; states: {', '.join(s.value for s in SessionState)}.",
            field="state",
        ) from None
    try:
        step = SessionEvent(event)
    except ValueError:
        raise InvalidInput(
            f"Unknown session step {event!r}; steps: {', '.join(e.value for e in SessionEvent)}.",
            field="event",
        ) from None
    nxt = TRANSITIONS[current].get(step)
    if nxt is None:
        allowed = allowed_events(current)
        options = ", ".join(e.value for e in allowed) if allowed else "none (the session is closed)"
        raise RuleViolation(
            f"A session that is '{current.value}' cannot '{step.value}'. "
            f"Allowed next steps: {options}.",
            field="event",
        )
    return nxt


class StepRecord(BaseModel):
    """One step of a session: what happened, when, and who did it."""

    model_config = ConfigDict(frozen=True)

    event: SessionEvent
    from_state: SessionState
    to_state: SessionState
    at: datetime
    by: str = Field(min_length=1)
    reason: str | None = None


def make_step(
    state: SessionState,
    event: SessionEvent | str,
    *,
    at: datetime,
    by: str,
    reason: str | None = None,
) -> StepRecord:
    """Validate a step (transition, time zone, person, reason) and return its record."""
    nxt = transition(state, event)
    step = SessionEvent(event)
    if at.tzinfo is None:
        raise InvalidInput("The time of a session step needs a time zone.", field="at")
    if not by.strip():
        raise InvalidInput("Every session step needs the person who did it.", field="by")
    if step in REASON_REQUIRED and not (reason and reason.strip()):
        raise InvalidInput(f"'{step.value}' needs a written reason.", field="reason")
    return StepRecord(event=step, from_state=state, to_state=nxt, at=at, by=by, reason=reason)
