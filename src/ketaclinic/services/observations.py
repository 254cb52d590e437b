"""Recording measurements in the patient record: vital signs taken together, and any other
measured value (a lab result, a urine dipstick score) with its code and unit.

Each call validates everything first (an impossible vital refuses the whole set), then writes the
rows and one audit entry in one savepoint, so a refused input leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ketaclinic.clinical.vitals import VitalKind, validate_vital, vital_definition
from ketaclinic.errors import InvalidInput
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import RequestContext
from ketaclinic.services.patient_rows import get_patient_row
from ketaclinic.storage.database import atomic
from ketaclinic.storage.tables.measurements import ObservationRow
from ketaclinic.storage.tables.types import new_id


def _audit(
    db: Session,
    ctx: RequestContext,
    action: str,
    entity_id: str,
    patient_id: str,
    detail: Mapping[str, Any] | None = None,
) -> None:
    record_event(
        db, ctx.actor, action, "observation", entity_id, patient_id=patient_id, detail=detail,
        now=ctx.now,
    )  # fmt: skip


def record_vitals(
    db: Session,
    ctx: RequestContext,
    patient_id: str,
    values: Mapping[VitalKind | str, float],
    observed_at: datetime,
    *,
    method: str = "manual",
    context_id: str | None = None,
    record_ids: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Record a set of vital signs taken together; all are checked before any is written.

    Returns the new observation id for each kind. One impossible value refuses the whole set, so
    a blood pressure is never stored without its pair.
    """
    if not values:
        raise InvalidInput("No vital signs were given.", field="values")
    checked = {VitalKind(vital_definition(k).id): validate_vital(k, v) for k, v in values.items()}
    _check_observed_at(ctx, observed_at)
    ids: dict[str, str] = {}
    with atomic(db):
        get_patient_row(db, patient_id)
        for kind, number in checked.items():
            definition = vital_definition(kind)
            row_id = (record_ids or {}).get(kind.value) or new_id()
            db.add(
                ObservationRow(
                    id=row_id,
                    patient_id=patient_id,
                    kind=kind.value,
                    value=number,
                    unit=definition.unit,
                    loinc_code=definition.loinc,
                    observed_at=observed_at,
                    recorded_at=ctx.now,
                    recorded_by=ctx.actor.display_name,
                    method=method,
                    context_id=context_id,
                )
            )
            ids[kind.value] = row_id
        db.flush()
        _audit(
            db,
            ctx,
            "patient.vitals.record",
            next(iter(ids.values())),
            patient_id,
            {"kinds": sorted(ids), "context_id": context_id},
        )
    return ids


def record_vital(
    db: Session,
    ctx: RequestContext,
    patient_id: str,
    kind: VitalKind | str,
    value: float,
    observed_at: datetime,
    **options: Any,
) -> str:
    ids = record_vitals(db, ctx, patient_id, {kind: value}, observed_at, **options)
    return next(iter(ids.values()))


def record_observation(
    db: Session,
    ctx: RequestContext,
    patient_id: str,
    code: str,
    value: float,
    unit: str,
    observed_at: datetime,
    *,
    loinc_code: str | None = None,
    notes: str | None = None,
    record_id: str | None = None,
) -> str:
    """Any other measured value (a lab result, a urine dipstick score): code, number and unit."""
    code = code.strip()
    if not code or code in set(VitalKind):
        raise InvalidInput(
            "Give a code for the observation; vital signs go through record_vitals.", field="code"
        )
    if not unit.strip():
        raise InvalidInput(f"Give the unit of {code} (UCUM, e.g. 'mg/dL').", field="unit")
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise InvalidInput(f"The value of {code} must be a number.", field="value")
    _check_observed_at(ctx, observed_at)
    row_id = record_id or new_id()
    with atomic(db):
        get_patient_row(db, patient_id)
        db.add(
            ObservationRow(
                id=row_id,
                patient_id=patient_id,
                kind=code,
                value=float(value),
                unit=unit.strip(),
                loinc_code=loinc_code,
                observed_at=observed_at,
                recorded_at=ctx.now,
                recorded_by=ctx.actor.display_name,
                method="manual",
                notes=notes,
            )
        )
        db.flush()
        _audit(db, ctx, "patient.observation.record", row_id, patient_id)
    return row_id


def _check_observed_at(ctx: RequestContext, observed_at: datetime) -> None:
    if observed_at.tzinfo is None:
        raise InvalidInput("The observation time needs a time zone.", field="observed_at")
    if observed_at > ctx.now:
        raise InvalidInput(
            f"The observation time {observed_at.isoformat()} is in the future.",
            field="observed_at",
        )
