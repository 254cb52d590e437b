"""Tasks and flags the safety core produces: plain values that a service persists and assigns."""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from ketaclinic.clinical.knowledge import Source


class TaskKind(StrEnum):
    SUICIDE_RISK_ASSESSMENT = "suicide-risk-assessment"
    SERIOUS_AE_MEDICAL_REVIEW = "serious-ae-medical-review"
    SERIOUS_AE_REPORT = "serious-ae-report"
    BLADDER_REFERRAL = "bladder-referral"
    BLADDER_SCREEN = "bladder-screen"
    PRESCRIBER_MISUSE_REVIEW = "prescriber-misuse-review"
    # An event recorded after the session's REMS form was finalised: correct it with the REMS.
    REMS_FORM_CORRECTION = "rems-form-correction"


class FlagKind(StrEnum):
    BLADDER_WORSENING = "bladder-worsening"
    MISUSE_SIGNAL = "misuse-signal"
    SUICIDE_SCREEN_POSITIVE = "suicide-screen-positive"
    SERIOUS_ADVERSE_EVENT = "serious-adverse-event"


class Task(BaseModel):
    """Something a named role must do by a time."""

    model_config = ConfigDict(frozen=True)
    kind: TaskKind
    patient_id: str
    due_at: datetime
    reason: str = Field(min_length=3)
    source: Source
    assignee_role: str
    assignee: str | None = None
    related_id: str | None = None


class Flag(BaseModel):
    """A warning on the patient's chart for a role to review."""

    model_config = ConfigDict(frozen=True)
    kind: FlagKind
    patient_id: str
    raised_at: datetime
    reason: str = Field(min_length=3)
    source: Source
    for_role: str
    severity: str = "warning"
    related_id: str | None = None


def end_of_day(at: datetime, clinic_tz: tzinfo | None = None) -> datetime:
    """The last second of ``at``'s calendar day ("same day"): the day in the clinic's time zone
    when given (what "today" means to the clinic), else in ``at``'s own time zone."""
    local = at.astimezone(clinic_tz) if clinic_tz is not None else at
    return datetime.combine(local.date(), time(23, 59, 59), tzinfo=local.tzinfo)


def days_later(at: datetime, days: float) -> datetime:
    return at + timedelta(days=days)
