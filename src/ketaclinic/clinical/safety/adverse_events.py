"""Adverse events: verbatim and coded term, timing, severity, seriousness, causality, outcome.

Seriousness follows the FDA legal definition (21 U.S.C. 355-1(b)(4)); the criteria and the curated
preferred terms are data (``clinical/data/adverse_event_terms.yaml``). A serious event yields a
same-day medical review task and a reporting task (MedWatch; for esketamine also the REMS Patient
Monitoring Form, due within the REMS window).
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ketaclinic.clinical.knowledge import Source, load_knowledge
from ketaclinic.clinical.policy import EffectivePolicy
from ketaclinic.clinical.safety.tasks import Flag, FlagKind, Task, TaskKind, days_later, end_of_day
from ketaclinic.errors import InvalidInput


class Severity(StrEnum):
    """Intensity, not seriousness: a severe headache is not necessarily serious."""

    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class Relatedness(StrEnum):
    """Causality to ketamine/esketamine, WHO-UMC-style categories (naming unverified)."""

    NOT_RELATED = "not-related"
    UNLIKELY = "unlikely"
    POSSIBLE = "possible"
    PROBABLE = "probable"
    CERTAIN = "certain"


class ActionTaken(StrEnum):
    """CDISC AEACN-style action with the study drug (naming unverified)."""

    DOSE_NOT_CHANGED = "dose-not-changed"
    DOSE_REDUCED = "dose-reduced"
    DOSING_INTERRUPTED = "dosing-interrupted"
    DOSING_STOPPED = "dosing-stopped"
    TREATMENT_WITHDRAWN = "treatment-withdrawn"
    NOT_APPLICABLE = "not-applicable"


class Outcome(StrEnum):
    """CDISC AEOUT-style outcome (naming unverified)."""

    RECOVERED = "recovered"
    RECOVERING = "recovering"
    NOT_RECOVERED = "not-recovered"
    RECOVERED_WITH_SEQUELAE = "recovered-with-sequelae"
    FATAL = "fatal"
    UNKNOWN = "unknown"


class PreferredTerm(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    label: str
    meddra_pt: str | None
    source: Source


class SeriousnessCriterion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    label: str
    source: Source


class _TermsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    terms: list[PreferredTerm]
    seriousness_criteria: list[SeriousnessCriterion]


def _terms() -> _TermsFile:
    return load_knowledge("ketaclinic.clinical", "adverse_event_terms.yaml", _TermsFile)


def preferred_terms() -> dict[str, PreferredTerm]:
    return {t.id: t for t in _terms().terms}


def seriousness_criteria() -> dict[str, SeriousnessCriterion]:
    return {c.id: c for c in _terms().seriousness_criteria}


class AdverseEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    patient_id: str = Field(min_length=1)
    session_id: str | None = None
    verbatim_term: str = Field(min_length=2)
    term_id: str
    onset_at: datetime
    resolved_at: datetime | None = None
    severity: Severity
    seriousness: tuple[str, ...] = ()
    relatedness: Relatedness
    action_taken: ActionTaken
    outcome: Outcome
    recorded_by: str = Field(min_length=1)
    recorded_at: datetime

    @model_validator(mode="after")
    def _consistent(self) -> AdverseEvent:
        terms, criteria = preferred_terms(), seriousness_criteria()
        if self.term_id not in terms:
            raise ValueError(f"term_id {self.term_id!r} is not one of: {', '.join(terms)}")
        unknown = [c for c in self.seriousness if c not in criteria]
        if unknown:
            raise ValueError(
                f"unknown seriousness criteria {unknown}; allowed: {', '.join(criteria)}"
            )
        if self.resolved_at is not None and self.resolved_at < self.onset_at:
            raise ValueError("resolved_at is before onset_at")
        if self.outcome is Outcome.FATAL and "death" not in self.seriousness:
            raise ValueError("a fatal outcome makes the event serious: add the 'death' criterion")
        resolved = (Outcome.RECOVERED, Outcome.RECOVERED_WITH_SEQUELAE)
        if self.outcome in resolved and self.resolved_at is None:
            raise ValueError(f"outcome {self.outcome.value} needs resolved_at")
        if self.recorded_at < self.onset_at:
            raise ValueError("recorded_at is before onset_at")
        return self

    @property
    def is_serious(self) -> bool:
        return bool(self.seriousness)

    @property
    def preferred_term(self) -> PreferredTerm:
        return preferred_terms()[self.term_id]


def record_adverse_event(
    event_data: dict[str, object],
    policy: EffectivePolicy,
    *,
    responsible_clinician: str | None,
    clinic_tz: tzinfo | None = None,
) -> tuple[AdverseEvent, list[Task], list[Flag]]:
    """Validate an adverse event; for a serious one, return its review and reporting tasks.

    "Review today" ends at the end of the clinic's day (``clinic_tz``; the event time's own zone
    when not given).

    Bad input raises InvalidInput naming the field and what is allowed.
    """
    try:
        event = AdverseEvent.model_validate(event_data)
    except ValueError as exc:
        raise InvalidInput(f"Adverse event not recorded: {exc}", field="adverse_event") from exc
    if event.onset_at.tzinfo is None or event.recorded_at.tzinfo is None:
        raise InvalidInput("Adverse-event times need a time zone.", field="onset_at")
    if not event.is_serious:
        return event, [], []
    criteria = seriousness_criteria()
    why = ", ".join(criteria[c].label.lower() for c in event.seriousness)
    legal = criteria[event.seriousness[0]].source
    report_days = policy.number("serious_event_report_due_days")
    destination = "MedWatch (FDA)"
    if policy.protocol_kind.is_rems:
        destination += " and the SPRAVATO REMS Patient Monitoring Form"
    tasks = [
        Task(
            kind=TaskKind.SERIOUS_AE_MEDICAL_REVIEW,
            patient_id=event.patient_id,
            due_at=end_of_day(event.recorded_at, clinic_tz),
            reason=f"Serious adverse event ({event.preferred_term.label}: {why}); review today.",
            source=legal,
            assignee_role="prescriber",
            assignee=responsible_clinician,
            related_id=event.id,
        ),
        Task(
            kind=TaskKind.SERIOUS_AE_REPORT,
            patient_id=event.patient_id,
            due_at=days_later(event.recorded_at, report_days),
            reason=f"Report the serious adverse event to {destination}.",
            source=policy.source("serious_event_report_due_days"),
            assignee_role="prescriber",
            assignee=responsible_clinician,
            related_id=event.id,
        ),
    ]
    flags = [
        Flag(
            kind=FlagKind.SERIOUS_ADVERSE_EVENT,
            patient_id=event.patient_id,
            raised_at=event.recorded_at,
            reason=f"Serious adverse event: {event.verbatim_term} ({why}).",
            source=legal,
            for_role="prescriber",
            severity="critical",
            related_id=event.id,
        )
    ]
    return event, tasks, flags


def rems_correction_task(
    event: AdverseEvent,
    *,
    finalised_at: datetime,
    submitted: bool,
    fields: tuple[str, ...],
    policy: EffectivePolicy,
    responsible_clinician: str | None,
) -> Task:
    """A task to correct a REMS monitoring form that was finalised before this event was known.

    The finalised form is never rewritten (it may already be with the REMS); the prescriber
    corrects it with the REMS, within the window the REMS gives for reporting the session.
    """
    serious = "serious " if event.is_serious else ""
    where = "already submitted to the REMS" if submitted else "finalised, not yet submitted"
    return Task(
        kind=TaskKind.REMS_FORM_CORRECTION,
        patient_id=event.patient_id,
        due_at=days_later(event.recorded_at, policy.number("serious_event_report_due_days")),
        reason=(
            f"A {serious}adverse event ({event.verbatim_term}) was recorded after this session's "
            f"REMS monitoring form was finalised on {finalised_at:%Y-%m-%d %H:%M} UTC ({where}); "
            f"the form is wrong on: {', '.join(f.replace('_', ' ') for f in fields)}. "
            "Send the REMS a corrected form."
        ),
        source=policy.source("serious_event_report_due_days"),
        assignee_role="prescriber",
        assignee=responsible_clinician,
        related_id=event.id,
    )
