"""The patient chart as one read: summary, plans, screenings, scores, vitals, sessions, safety.

A read-only use case for the chart page (and anything else that needs the whole picture). It calls
the owning services for each part; the pieces those services audit themselves (the summary,
the plan list) write their own entries, and this module adds one ``chart.read`` entry naming
what was shown, so a reviewer sees that the whole chart was opened, not only the summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical.eligibility import Treatment
from ketaclinic.clinical.outcomes import CourseOutcome, OutcomePolicy, ScorePoint, assess_course
from ketaclinic.clinical.record import PatientSummary
from ketaclinic.clinical.safety.adverse_events import AdverseEvent
from ketaclinic.clinical.vitals import VitalKind
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import RequestContext
from ketaclinic.services.measurement import TrajectoryPoint, score_trajectories
from ketaclinic.services.outcome_policy import clinic_outcome_policy
from ketaclinic.services.patient_summary import build_summary
from ketaclinic.services.patients import get_patient_row
from ketaclinic.services.plan_records import PlanRecord, to_plan_record
from ketaclinic.services.safety import adverse_events, open_flags, open_tasks
from ketaclinic.services.screening import (
    ScreeningRecord,
    current_screening_row,
    to_screening_record,
)
from ketaclinic.storage.database import atomic
from ketaclinic.storage.tables.measurements import ObservationRow
from ketaclinic.storage.tables.planning import TreatmentPlanRow
from ketaclinic.storage.tables.safety import SafetyFlagRow, SafetyTaskRow
from ketaclinic.storage.tables.sessions import SupervisedSessionRow

# The flowsheet shows the most recent readings; the trend plots use all of them.
FLOWSHEET_ROWS = 40
# Vital signs charted (weight and height belong to the summary, not the flowsheet).
FLOWSHEET_KINDS = (
    VitalKind.SYSTOLIC_MMHG,
    VitalKind.DIASTOLIC_MMHG,
    VitalKind.HEART_RATE_BPM,
    VitalKind.SPO2_PERCENT,
    VitalKind.RESPIRATORY_RATE_PER_MIN,
    VitalKind.TEMPERATURE_C,
)
# A plan in one of these states is the patient's current plan.
CURRENT_PLAN_STATUSES = ("signed", "active", "draft")


@dataclass(frozen=True)
class VitalsRow:
    """Readings taken at one moment (one row of the flowsheet)."""

    observed_at: datetime
    values: dict[str, float]
    method: str


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # "screening" | "plan" | "session" | "questionnaire" | "adverse-event"
    text: str
    href: str | None = None


@dataclass(frozen=True)
class SessionLine:
    session_id: str
    scheduled_for: datetime
    protocol_kind: str
    state: str


@dataclass(frozen=True)
class ChartView:
    summary: PatientSummary
    current_plan: PlanRecord | None
    plans: list[PlanRecord]
    screenings: dict[str, ScreeningRecord]
    trajectories: dict[str, list[TrajectoryPoint]]
    outcomes: dict[str, CourseOutcome]
    course_start: date | None
    vitals: list[VitalsRow]
    sessions: list[SessionLine]
    adverse_events: list[AdverseEvent]
    tasks: list[SafetyTaskRow]
    flags: list[SafetyFlagRow]
    timeline: list[TimelineEntry] = field(default_factory=list)


def vitals_rows(db: Session, patient_id: str, *, limit: int | None = None) -> list[VitalsRow]:
    """Vital signs grouped by the moment they were taken, oldest first (the last ``limit``)."""
    kinds = [k.value for k in FLOWSHEET_KINDS]
    rows = db.scalars(
        select(ObservationRow)
        .where(ObservationRow.patient_id == patient_id, ObservationRow.kind.in_(kinds))
        .order_by(ObservationRow.observed_at, ObservationRow.kind)
    )
    grouped: dict[datetime, VitalsRow] = {}
    for row in rows:
        entry = grouped.setdefault(row.observed_at, VitalsRow(row.observed_at, {}, row.method))
        entry.values[row.kind] = row.value
    ordered = list(grouped.values())
    return ordered[-limit:] if limit else ordered


def course_outcomes(
    trajectories: dict[str, list[TrajectoryPoint]],
    course_start: date | None,
    policy: OutcomePolicy | None = None,
) -> dict[str, CourseOutcome]:
    """Response and remission per instrument, day 0 = the first planned treatment day, judged by
    the clinic's outcome definitions (``policy``; the data file's defaults when None).

    Without a plan the first score is day 0, so the chart still draws a baseline-relative line.
    """
    outcomes: dict[str, CourseOutcome] = {}
    for instrument, points in trajectories.items():
        if not points:
            continue
        start = course_start or points[0].administered_at.date()
        scored = [
            ScorePoint(day=(p.administered_at.date() - start).days, total=p.total) for p in points
        ]
        try:
            outcomes[instrument] = assess_course(instrument, scored, policy=policy)
        except Exception:
            continue
    return outcomes


def _plans(db: Session, patient_id: str) -> list[PlanRecord]:
    rows = db.scalars(
        select(TreatmentPlanRow)
        .where(TreatmentPlanRow.patient_id == patient_id)
        .order_by(TreatmentPlanRow.created_at, TreatmentPlanRow.version)
    ).all()
    return [to_plan_record(db, row) for row in rows]


def current_plan(plans: list[PlanRecord]) -> PlanRecord | None:
    """The newest plan still in force (signed or running), else the newest draft."""
    for wanted in (("signed", "active"), ("draft",)):
        live = [p for p in plans if p.status in wanted]
        if live:
            return live[-1]
    return None


def _timeline(view: ChartView) -> list[TimelineEntry]:
    pid = view.summary.patient_id
    entries: list[TimelineEntry] = []
    for record in view.screenings.values():
        entries.append(
            TimelineEntry(
                record.screened_at,
                "screening",
                f"Screened for {record.treatment.value}: {record.decision.decision.value} "
                f"({record.screened_by})",
                f"/patients/{pid}/intake/screening",
            )
        )
    for plan in view.plans:
        if plan.signed_at is not None:
            entries.append(
                TimelineEntry(
                    plan.signed_at,
                    "plan",
                    f"Plan {plan.protocol_id} v{plan.version} signed by {plan.signed_by}",
                    f"/plans/{plan.plan_id}",
                )
            )
    for session in view.sessions:
        entries.append(
            TimelineEntry(
                session.scheduled_for,
                "session",
                f"Session ({session.protocol_kind}): {session.state}",
            )
        )
    for instrument, points in view.trajectories.items():
        for point in points:
            entries.append(
                TimelineEntry(
                    point.administered_at,
                    "questionnaire",
                    f"{instrument.upper()} {point.total:g}"
                    + (f" ({point.severity})" if point.severity else ""),
                )
            )
    for event in view.adverse_events:
        entries.append(
            TimelineEntry(
                event.onset_at, "adverse-event", f"{event.verbatim_term} ({event.severity})"
            )
        )
    return sorted(entries, key=lambda e: e.at, reverse=True)


def patient_chart(db: Session, ctx: RequestContext, patient_id: str) -> ChartView:
    """Everything the chart page shows; one audited read."""
    with atomic(db):
        patient = get_patient_row(db, patient_id)
        summary = build_summary(db, ctx, patient)
        plans = _plans(db, patient_id)
        plan = current_plan(plans)
        screenings: dict[str, ScreeningRecord] = {}
        for treatment in Treatment:
            row = current_screening_row(db, patient_id, treatment)
            if row is not None:
                screenings[treatment.value] = to_screening_record(row)
        trajectories = score_trajectories(db, patient_id)
        course_start = plan.start_date if plan is not None else None
        sessions = [
            SessionLine(r.id, r.scheduled_for, r.protocol_kind, r.state)
            for r in db.scalars(
                select(SupervisedSessionRow)
                .where(SupervisedSessionRow.patient_id == patient_id)
                .order_by(SupervisedSessionRow.scheduled_for)
            )
        ]
        view = ChartView(
            summary=summary,
            current_plan=plan,
            plans=plans,
            screenings=screenings,
            trajectories=trajectories,
            outcomes=course_outcomes(trajectories, course_start, clinic_outcome_policy(db)),
            course_start=course_start,
            vitals=vitals_rows(db, patient_id),
            sessions=sessions,
            adverse_events=adverse_events(db, patient_id=patient_id),
            tasks=open_tasks(db, patient_id=patient_id),
            flags=open_flags(db, patient_id=patient_id),
        )
        view.timeline.extend(_timeline(view))
        record_event(
            db,
            ctx.actor,
            "chart.read",
            "patient",
            patient_id,
            patient_id=patient_id,
            detail={
                "plans": len(plans),
                "scores": sum(len(p) for p in trajectories.values()),
                "vitals": len(view.vitals),
                "sessions": len(sessions),
            },
            now=ctx.now,
        )
        return view


@dataclass(frozen=True)
class ScoreCourse:
    instrument_id: str
    points: list[TrajectoryPoint]
    outcome: CourseOutcome | None
    course_start: date | None


def score_course(
    db: Session, ctx: RequestContext, patient_id: str, instrument_id: str
) -> ScoreCourse:
    """One instrument's scores with the course outcome, for its plot (an audited read)."""
    with atomic(db):
        get_patient_row(db, patient_id)
        plan = current_plan(_plans(db, patient_id))
        start = plan.start_date if plan is not None else None
        points = score_trajectories(db, patient_id).get(instrument_id, [])
        policy = clinic_outcome_policy(db)
        outcome = course_outcomes({instrument_id: points}, start, policy).get(instrument_id)
        record_event(
            db, ctx.actor, "chart.plot.read", "patient", patient_id, patient_id=patient_id,
            detail={"plot": f"scores:{instrument_id}"}, now=ctx.now,
        )  # fmt: skip
        return ScoreCourse(instrument_id, points, outcome, start)


def vitals_for_plot(db: Session, ctx: RequestContext, patient_id: str) -> list[VitalsRow]:
    """Every vital-signs reading of the patient, for the trend plot (an audited read)."""
    with atomic(db):
        get_patient_row(db, patient_id)
        rows = vitals_rows(db, patient_id)
        record_event(
            db, ctx.actor, "chart.plot.read", "patient", patient_id, patient_id=patient_id,
            detail={"plot": "vitals"}, now=ctx.now,
        )  # fmt: skip
        return rows
