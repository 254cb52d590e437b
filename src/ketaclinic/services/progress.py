"""A patient's progress in one read: score trajectories with their course outcomes, sessions given
and coming, and which self-report questionnaires are due (for the progress report and the portal).

Read-only, and audited once per call (the caller names the purpose: a report, the portal).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical.knowledge import Source, load_knowledge
from ketaclinic.clinical.outcomes import (
    CourseOutcome,
    OutcomePolicy,
    ScorePoint,
    assess_course,
    outcome_rules,
)
from ketaclinic.clinical.questionnaires import get_instrument
from ketaclinic.errors import NotFound
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import RequestContext
from ketaclinic.services.measurement import TrajectoryPoint, score_trajectories
from ketaclinic.services.outcome_policy import clinic_outcome_policy
from ketaclinic.services.patients import get_patient_row
from ketaclinic.storage.tables.planning import PlanSessionRow, TreatmentPlanRow
from ketaclinic.storage.tables.sessions import SessionDosingRow, SupervisedSessionRow


class ScheduledQuestionnaire(BaseModel):
    """A self-report form and how often it falls due; for ``plan_questionnaires``, the protocols
    or conditions of the plan that call for it (see ``services.questionnaire_schedule``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    every_days: int = Field(gt=0)
    when_conditions: tuple[str, ...] = ()
    when_protocols: tuple[str, ...] = ()
    source: Source


class CrisisResource(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    name: str
    how: str
    phone: str
    source: Source


class PortalData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    questionnaires: list[ScheduledQuestionnaire]
    plan_questionnaires: list[ScheduledQuestionnaire] = []
    crisis_resources: list[CrisisResource] = Field(min_length=1)

    @model_validator(mode="after")
    def _plan_entries_say_when(self) -> PortalData:
        for entry in self.plan_questionnaires:
            if not entry.when_conditions and not entry.when_protocols:
                raise ValueError(
                    f"plan_questionnaires: {entry.id} needs when_conditions or when_protocols "
                    "(a form for everyone belongs under questionnaires)"
                )
        return self


def portal_data() -> PortalData:
    return load_knowledge("ketaclinic.web", "patient_portal.yaml", PortalData)


@dataclass(frozen=True)
class InstrumentProgress:
    instrument_id: str
    name: str
    max_total: float
    points: tuple[TrajectoryPoint, ...]
    outcome: CourseOutcome | None  # None when the instrument has no outcome rules


@dataclass(frozen=True)
class SessionLine:
    session_id: str
    when: datetime
    protocol_kind: str
    state: str
    dose_mg: float | None


@dataclass(frozen=True)
class Progress:
    patient_id: str
    patient_name: str
    mrn: str
    date_of_birth: date
    first_treatment_at: datetime | None
    instruments: tuple[InstrumentProgress, ...]
    sessions: tuple[SessionLine, ...]
    upcoming: tuple[tuple[date, str], ...]  # (day, what) from the plan calendar and schedule


def first_treatment_at(db: Session, patient_id: str) -> datetime | None:
    """Day 0 of the course: the first dose given in a supervised session."""
    return db.scalar(
        select(SessionDosingRow.started_at)
        .join(SupervisedSessionRow, SupervisedSessionRow.id == SessionDosingRow.session_id)
        .where(SupervisedSessionRow.patient_id == patient_id)
        .order_by(SessionDosingRow.started_at)
        .limit(1)
    )


def _instrument(
    instrument_id: str,
    points: list[TrajectoryPoint],
    day0: datetime | None,
    policy: OutcomePolicy | None = None,
) -> InstrumentProgress:
    outcome: CourseOutcome | None = None
    start = day0 or (points[0].administered_at if points else None)
    if points and start is not None:
        try:
            outcome_rules(instrument_id)
            scored = [
                ScorePoint((p.administered_at - start) / timedelta(days=1), p.total) for p in points
            ]
            outcome = assess_course(instrument_id, scored, policy=policy)
        except NotFound:
            outcome = None
    # The engine's maximum: domain-scored forms (QIDS-SR16) count one item per domain.
    instrument = get_instrument(instrument_id)
    return InstrumentProgress(
        instrument_id, instrument.short_name, float(instrument.max_total), tuple(points), outcome
    )


def _sessions(db: Session, patient_id: str) -> list[SessionLine]:
    rows = db.execute(
        select(SupervisedSessionRow, SessionDosingRow.dose_mg)
        .outerjoin(SessionDosingRow, SessionDosingRow.session_id == SupervisedSessionRow.id)
        .where(SupervisedSessionRow.patient_id == patient_id)
        .order_by(SupervisedSessionRow.scheduled_for)
    ).all()
    return [
        SessionLine(row.id, row.scheduled_for, row.protocol_kind, row.state, dose)
        for row, dose in rows
    ]


def upcoming(
    db: Session, patient_id: str, today: date, clinic_tz: tzinfo = UTC
) -> list[tuple[date, str]]:
    """Planned treatment days from the active plan's calendar and sessions already scheduled;
    days and times in the clinic's time zone."""
    found: dict[date, str] = {}
    planned = db.execute(
        select(PlanSessionRow.scheduled_on, PlanSessionRow.phase_kind)
        .join(TreatmentPlanRow, TreatmentPlanRow.id == PlanSessionRow.plan_id)
        .where(
            TreatmentPlanRow.patient_id == patient_id,
            TreatmentPlanRow.status.in_(("signed", "active")),
            PlanSessionRow.status == "planned",
            PlanSessionRow.scheduled_on >= today,
        )
        .order_by(PlanSessionRow.scheduled_on)
    ).all()
    for day, phase in planned:
        found[day] = f"Treatment session ({phase} phase)"
    for line in _sessions(db, patient_id):
        local = line.when.astimezone(clinic_tz)
        if line.state == "scheduled" and local.date() >= today:
            found[local.date()] = f"Treatment session at {local.strftime('%H:%M')}"
    return sorted(found.items())[:10]


def progress(db: Session, ctx: RequestContext, patient_id: str, *, purpose: str) -> Progress:
    """Everything the progress report and the portal show; one audit entry naming the purpose."""
    patient = get_patient_row(db, patient_id)
    day0 = first_treatment_at(db, patient_id)
    trajectories = score_trajectories(db, patient_id)
    # Judged by the clinic's outcome definitions, as the clinician's chart is.
    policy = clinic_outcome_policy(db)
    instruments = tuple(_instrument(i, pts, day0, policy) for i, pts in trajectories.items())
    result = Progress(
        patient_id=patient_id, patient_name=f"{patient.given_name} {patient.family_name}",
        mrn=patient.mrn, date_of_birth=patient.date_of_birth, first_treatment_at=day0,
        instruments=instruments, sessions=tuple(_sessions(db, patient_id)),
        upcoming=tuple(upcoming(db, patient_id, ctx.today, ctx.clinic_tz)),
    )  # fmt: skip
    record_event(
        db, ctx.actor, f"progress.read.{purpose}", "patient", patient_id, patient_id=patient_id,
        now=ctx.now,
    )  # fmt: skip
    return result
