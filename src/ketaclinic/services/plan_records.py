"""Treatment plans as the services hand them out, and the pieces every plan use case shares.

Plan records are plain frozen values built from the rows; the dose helper finds the weight
measured closest to a session (``choose_dosing_weight``) and calls the one dose calculation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical.dosing import DoseCalculation, WeightPolicy, calculate_dose
from ketaclinic.clinical.dosing.body_weight import choose_dosing_weight
from ketaclinic.clinical.overrides import Override
from ketaclinic.clinical.protocols import Protocol
from ketaclinic.clinical.record import age_years
from ketaclinic.clinical.vocabulary import Sex
from ketaclinic.errors import InvalidInput, NotFound, PermissionDenied
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import RequestContext
from ketaclinic.services.patients import get_patient_row
from ketaclinic.services.policy import clinic_policy
from ketaclinic.services.protocol_settings import effective_protocol, kind_of
from ketaclinic.storage.tables.measurements import ObservationRow
from ketaclinic.storage.tables.planning import (
    DoseLimitOverrideRow,
    PlanSessionRow,
    TreatmentPlanRow,
)

PRESCRIBER_ROLES = frozenset({"prescriber"})
STAFF_ROLES = frozenset({"prescriber", "nurse"})
# Calendar rows that are part of the plan as it stands (rescheduled/cancelled rows are history).
LIVE_STATUSES = ("planned", "missed", "done")
# A session's time when only its date is known: weights are compared against midday.
_SESSION_TIME = time(12, 0, tzinfo=UTC)


class DoseRequest(BaseModel):
    """What the prescriber asks for; anything left out takes the protocol's default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dose_mg_per_kg: float | None = Field(default=None, gt=0)
    dose_mg: float | None = Field(default=None, gt=0)
    # Fixed-dose products: the first session's dose when it differs ("56 mg, then 84 mg").
    first_session_dose_mg: float | None = Field(default=None, gt=0)
    # None: the clinic's body-weight choice for the protocol (actual unless it set another).
    weight_policy: WeightPolicy | None = None
    regional_profile: str | None = None
    concentration_mg_per_ml: float | None = None
    bag_ml: float | None = None
    duration_min: float | None = None


class LimitOverrideRequest(BaseModel):
    """A prescriber's override of named dose limits (e.g. ``max-mg-per-kg``), with a reason."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    limit_ids: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class PlanSession:
    sequence: int
    scheduled_on: date
    phase_id: str
    phase_kind: str
    number_in_phase: int
    status: str
    replaces_sequence: int | None
    review_action: str | None


@dataclass(frozen=True)
class DoseOverrideRecord:
    limit_ids: tuple[str, ...]
    reason: str
    prescriber: str
    overridden_at: datetime


@dataclass(frozen=True)
class PlanRecord:
    plan_id: str
    patient_id: str
    protocol_id: str
    version: int
    previous_version_id: str | None
    status: str
    prescriber: str
    start_date: date
    maintenance_option: str | None
    screening_id: str
    dose_request: DoseRequest
    first_dose: DoseCalculation
    signed_by: str | None
    signed_at: datetime | None
    amendment_reason: str | None
    stopped_reason: str | None
    sessions: tuple[PlanSession, ...]
    dose_overrides: tuple[DoseOverrideRecord, ...]

    @property
    def live_sessions(self) -> list[PlanSession]:
        return [s for s in self.sessions if s.status in LIVE_STATUSES]

    @property
    def review_points(self) -> list[PlanSession]:
        return [s for s in self.sessions if s.review_action and s.status == "planned"]


def require_role(ctx: RequestContext, roles: frozenset[str], what: str) -> None:
    if ctx.actor.role not in roles:
        allowed = " or ".join(sorted(roles))
        raise PermissionDenied(
            f"Only a {allowed} may {what}; you are signed in as a {ctx.actor.role}."
        )


# --- dose ------------------------------------------------------------------------------------


def stored_overrides(db: Session, plan_id: str) -> list[DoseLimitOverrideRow]:
    return list(
        db.scalars(
            select(DoseLimitOverrideRow)
            .where(DoseLimitOverrideRow.plan_id == plan_id)
            .order_by(DoseLimitOverrideRow.overridden_at)
        )
    )


def as_override(row: DoseLimitOverrideRow) -> Override:
    return Override(
        rule_ids=frozenset(row.limit_ids),
        reason=row.reason,
        prescriber_id=row.prescriber_user_id or row.prescriber_name,
        overridden_at=row.overridden_at,
    )


def dose_for(
    db: Session,
    patient_id: str,
    protocol: Protocol,
    request: DoseRequest,
    session_on: date,
    *,
    first_session: bool,
    last_session_on: date | None,
    overrides: Iterable[Override],
    first_device_at: datetime | None = None,
    today: date | None = None,
) -> DoseCalculation:
    """The session's dose on the weight measured closest to the session day (midday), with the
    protocol as this clinic applies it (its settings: limits, defaults, weight policy).

    A weight further from the session than the clinic policy's ``weight_max_age_days`` is a
    warning while the session is still ahead (it can be weighed again); for a session due
    ``today`` or earlier it is refused: weigh the patient first.
    """
    protocol = effective_protocol(db, protocol.id)
    patient = get_patient_row(db, patient_id)
    weights = [
        (row.observed_at, row.value)
        for row in db.scalars(
            select(ObservationRow).where(
                ObservationRow.patient_id == patient_id, ObservationRow.kind == "weight_kg"
            )
        )
    ]
    session_at = datetime.combine(session_on, _SESSION_TIME)
    weight_kg, measured_at = choose_dosing_weight(weights, session_at)
    max_age = clinic_policy(db, kind_of(protocol)).get("weight_max_age_days")
    age_days = abs((session_on - measured_at.date()).days)
    if max_age is not None and today is not None and session_on <= today and age_days > max_age:
        raise InvalidInput(
            f"The latest weight was measured {measured_at.date().isoformat()}, {age_days} days "
            f"before the session; the clinic policy accepts {max_age:g} days. Weigh the patient "
            "before dosing.",
            field="weight",
        )
    height_cm = db.scalars(
        select(ObservationRow.value)
        .where(ObservationRow.patient_id == patient_id, ObservationRow.kind == "height_cm")
        .order_by(ObservationRow.observed_at.desc())
        .limit(1)
    ).first()
    return calculate_dose(
        protocol,
        weight_kg,
        height_cm=height_cm,
        sex=Sex(patient.sex),
        concentration_mg_per_ml=request.concentration_mg_per_ml,
        bag_ml=request.bag_ml,
        duration_min=request.duration_min,
        dose_mg_per_kg=request.dose_mg_per_kg,
        dose_mg=(
            request.first_session_dose_mg
            if first_session and request.first_session_dose_mg is not None
            else request.dose_mg
        ),
        policy=request.weight_policy,
        first_session=first_session,
        last_session_on=last_session_on,
        session_on=session_on,
        regional_profile=request.regional_profile,
        age_years=age_years(patient.date_of_birth, session_on),
        first_device_at=first_device_at,
        overrides=tuple(overrides),
        weight_measured_on=measured_at.date(),
        max_weight_age_days=None if max_age is None else int(max_age),
    )


def plan_row(db: Session, plan_id: str) -> TreatmentPlanRow:
    row = db.get(TreatmentPlanRow, plan_id)
    if row is None:
        raise NotFound(f"No treatment plan with id {plan_id}.", field="plan_id")
    return row


def session_rows(db: Session, plan_id: str) -> list[PlanSessionRow]:
    return list(
        db.scalars(
            select(PlanSessionRow)
            .where(PlanSessionRow.plan_id == plan_id)
            .order_by(PlanSessionRow.sequence)
        )
    )


def to_plan_record(db: Session, row: TreatmentPlanRow) -> PlanRecord:
    return PlanRecord(
        plan_id=row.id,
        patient_id=row.patient_id,
        protocol_id=row.protocol_id,
        version=row.version,
        previous_version_id=row.previous_version_id,
        status=row.status,
        prescriber=row.prescriber_name,
        start_date=row.start_date,
        maintenance_option=row.maintenance_option,
        screening_id=row.screening_id,
        dose_request=DoseRequest(
            dose_mg_per_kg=row.dose_mg_per_kg,
            dose_mg=row.dose_mg,
            first_session_dose_mg=row.first_session_dose_mg,
            weight_policy=WeightPolicy(row.weight_policy),
            regional_profile=row.regional_profile,
            concentration_mg_per_ml=row.concentration_mg_per_ml,
            bag_ml=row.bag_ml,
            duration_min=row.duration_min,
        ),
        first_dose=DoseCalculation.model_validate(row.dose_json),
        signed_by=row.signed_by_name,
        signed_at=row.signed_at,
        amendment_reason=row.amendment_reason,
        stopped_reason=row.stopped_reason,
        sessions=tuple(
            PlanSession(
                sequence=s.sequence,
                scheduled_on=s.scheduled_on,
                phase_id=s.phase_id,
                phase_kind=s.phase_kind,
                number_in_phase=s.number_in_phase,
                status=s.status,
                replaces_sequence=s.replaces_sequence,
                review_action=s.review_action,
            )
            for s in session_rows(db, row.id)
        ),
        dose_overrides=tuple(
            DoseOverrideRecord(
                limit_ids=tuple(o.limit_ids),
                reason=o.reason,
                prescriber=o.prescriber_name,
                overridden_at=o.overridden_at,
            )
            for o in stored_overrides(db, row.id)
        ),
    )


def audit_plan(
    db: Session, ctx: RequestContext, action: str, row: TreatmentPlanRow, **detail: Any
) -> None:
    record_event(
        db,
        ctx.actor,
        action,
        "treatment_plan",
        row.id,
        patient_id=row.patient_id,
        detail={"protocol": row.protocol_id, "version": row.version, **detail},
        now=ctx.now,
    )
