"""Build small realistic records through the real services (never by writing rows directly).

    from support.factories import make_patient
    patient_id = make_patient(db, ctx, conditions=["trd"], failed_trials=2)

The caller's session is used; commit it (or use ``transaction``) if another session must see it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from ketaclinic.services import patients
from ketaclinic.services.context import RequestContext

# Two adequate, failed trials of different antidepressants: treatment-resistant by the usual
# definition (doses and durations above the catalogue's adequacy minimums).
FAILED_TRIALS = (
    {"drug": "sertraline", "dose_mg_per_day": 150, "duration_weeks": 10, "outcome": "no-response"},
    {"drug": "venlafaxine", "dose_mg_per_day": 225, "duration_weeks": 8, "outcome": "no-response"},
    {"drug": "duloxetine", "dose_mg_per_day": 60, "duration_weeks": 12, "outcome": "no-response"},
)


def make_patient(
    db: Session,
    ctx: RequestContext,
    *,
    identity: Mapping[str, Any] | None = None,
    conditions: Iterable[str] = ("mdd",),
    medications: Iterable[Mapping[str, Any]] = (),
    failed_trials: int = 0,
    weight_kg: float | None = 78.0,
    height_cm: float | None = 172.0,
    escort: bool = True,
    mrn: str | None = None,
) -> str:
    """Register a patient with an escort, diagnoses, medications, trials and a weight/height."""
    person = {
        "given_name": "Alex",
        "family_name": "Morgan",
        "date_of_birth": "1983-05-14",
        "sex": "F",
    } | dict(identity or {})
    patient_id = patients.register_patient(
        db, ctx, person, {"phone": "+1 555-0142", "email": "alex.morgan@example.org"}, mrn=mrn
    )
    if escort:
        patients.add_contact(
            db,
            ctx,
            patient_id,
            {
                "role": "escort",
                "name": "Sam Morgan",
                "relationship": "partner",
                "phone": "+1 555-0143",
            },
        )
    for condition in conditions:
        patients.add_diagnosis(db, ctx, patient_id, {"condition": condition})
    for medication in medications:
        patients.add_medication(db, ctx, patient_id, medication)
    if not 0 <= failed_trials <= len(FAILED_TRIALS):
        raise ValueError(f"failed_trials must be 0..{len(FAILED_TRIALS)}")
    for trial in FAILED_TRIALS[:failed_trials]:
        patients.add_antidepressant_trial(db, ctx, patient_id, trial)
    body = {k: v for k, v in (("weight_kg", weight_kg), ("height_cm", height_cm)) if v is not None}
    if body:
        patients.record_vitals(db, ctx, patient_id, body, ctx.now - timedelta(minutes=10))
    return patient_id
