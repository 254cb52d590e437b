"""When bladder screens fall due: every maintenance patient on the clinic's interval.

The label asks for monitoring of urinary symptoms without giving an interval, so the interval is
the clinic's (``bladder_screen_interval_days`` in the clinic policy, with its source). A patient
is in maintenance from the first maintenance-phase session of a signed or active plan on or
before today; the first screen is due then, each next one an interval after the last screen.
Computed when read, so the schedule follows the plan and the screens as they change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaclinic.services.context import RequestContext
from ketaclinic.services.plan_calendar import RUNNING_STATUSES
from ketaclinic.services.plan_records import LIVE_STATUSES
from ketaclinic.services.safety import next_bladder_screen
from ketaclinic.storage.tables.patients import PatientRow
from ketaclinic.storage.tables.planning import PlanSessionRow, TreatmentPlanRow


@dataclass(frozen=True)
class ScreenDue:
    patient_id: str
    patient_name: str
    mrn: str
    due_at: datetime
    overdue: bool


def _maintenance_starts(db: Session, today: date, patient_id: str | None = None) -> dict[str, date]:
    """Patient -> the first maintenance session of a running plan on or before ``today``."""
    query = (
        select(TreatmentPlanRow.patient_id, func.min(PlanSessionRow.scheduled_on))
        .join(PlanSessionRow, PlanSessionRow.plan_id == TreatmentPlanRow.id)
        .where(
            TreatmentPlanRow.status.in_(RUNNING_STATUSES),
            PlanSessionRow.phase_kind == "maintenance",
            PlanSessionRow.status.in_(LIVE_STATUSES),
            PlanSessionRow.scheduled_on <= today,
        )
        .group_by(TreatmentPlanRow.patient_id)
    )
    if patient_id is not None:
        query = query.where(TreatmentPlanRow.patient_id == patient_id)
    return {row[0]: row[1] for row in db.execute(query)}


def _due(db: Session, ctx: RequestContext, patient_id: str, start: date) -> datetime | None:
    started_at = datetime.combine(start, time(0), tzinfo=ctx.clinic_tz)
    return next_bladder_screen(
        db, ctx, patient_id, "maintenance", maintenance_started_at=started_at
    )


def bladder_screen_due(db: Session, ctx: RequestContext, patient_id: str) -> datetime | None:
    """When the patient's next bladder screen is due; None outside maintenance."""
    today = ctx.now.astimezone(ctx.clinic_tz).date()
    start = _maintenance_starts(db, today, patient_id).get(patient_id)
    return None if start is None else _due(db, ctx, patient_id, start)


def bladder_screens_due(db: Session, ctx: RequestContext, until: datetime) -> list[ScreenDue]:
    """Maintenance patients whose bladder screen is due by ``until``, the longest overdue first."""
    today = ctx.now.astimezone(ctx.clinic_tz).date()
    found: list[ScreenDue] = []
    for patient_id, start in _maintenance_starts(db, today).items():
        due_at = _due(db, ctx, patient_id, start)
        if due_at is None or due_at > until:
            continue
        patient = db.get(PatientRow, patient_id)
        assert patient is not None
        found.append(
            ScreenDue(
                patient_id=patient_id,
                patient_name=f"{patient.given_name} {patient.family_name}",
                mrn=patient.mrn,
                due_at=due_at,
                overdue=due_at < ctx.now,
            )
        )
    return sorted(found, key=lambda s: (s.due_at, s.patient_id))
