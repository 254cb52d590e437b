"""A patient whose record answers every screening question, built through the real services.

    patient_id = make_known_patient(db, ctx)              # everything known, nothing found
    patient_id = make_known_patient(db, ctx, failed_trials=1)   # TRD inclusion not met

Each keyword changes one fact, so a test states only what it is about.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from ketaclinic.services import measurement, patients
from ketaclinic.services.context import RequestContext
from support.factories import make_patient

# Everything the shared rule sets ask about, recorded as asked and found absent.
RULED_OUT = (
    "psychosis",
    "substance-use-disorder",
    "bipolar-depression",
    "raised-intracranial-pressure",
    "raised-intraocular-pressure",
    "sleep-apnoea",
    "hypertension",
    "cardiovascular-disease",
    "aneurysmal-vascular-disease",
    "arteriovenous-malformation",
    "intracerebral-haemorrhage",
    "bladder-disorder",
)
# Facts the record has no home for, stated by the screener.
STATED_ALL_CLEAR = {
    "urinary_symptoms": False,
    "sleep_apnoea_risk": "low",
    "hepatic_impairment": "none",
}
# C-SSRS screener answers q1..q7 (unasked items 0): no yes answers; moderate; high.
CSSRS_NONE = [0, 0, 0, 0, 0, 0, 0]
CSSRS_MODERATE = [1, 0, 0, 0, 0, 1, 0]
CSSRS_HIGH = [1, 1, 0, 1, 0, 0, 0]


def make_known_patient(
    db: Session,
    ctx: RequestContext,
    *,
    sex: str = "M",
    date_of_birth: str = "1981-04-02",
    conditions: Iterable[str] = ("mdd", "trd"),
    ruled_out: Iterable[str] = RULED_OUT,
    failed_trials: int = 3,
    medications: Iterable[Mapping[str, Any]] = (
        {"drug_name": "mirtazapine", "dose_amount": 30, "dose_unit": "mg"},
    ),
    allergies: Iterable[Mapping[str, Any]] = ({"substance": "penicillin", "reaction": "rash"},),
    bp_mmhg: tuple[int, int] | None = (128, 82),
    phq9_item9: int | None = 0,
    cssrs: list[int] | None = CSSRS_NONE,
    weight_kg: float | None = 80.0,
    height_cm: float | None = 178.0,
    names: Mapping[str, str] | None = None,
) -> str:
    ruled = [c for c in ruled_out if c not in set(conditions)]
    patient_id = make_patient(
        db,
        ctx,
        identity={"sex": sex, "date_of_birth": date_of_birth} | dict(names or {}),
        conditions=conditions,
        medications=medications,
        failed_trials=failed_trials,
        weight_kg=weight_kg,
        height_cm=height_cm,
    )
    answer_screening_questions(
        db, ctx, patient_id, ruled_out=ruled, allergies=allergies, bp_mmhg=bp_mmhg,
        phq9_item9=phq9_item9, cssrs=cssrs,
    )  # fmt: skip
    return patient_id


def answer_screening_questions(
    db: Session,
    ctx: RequestContext,
    patient_id: str,
    *,
    ruled_out: Iterable[str] = RULED_OUT,
    allergies: Iterable[Mapping[str, Any]] = ({"substance": "penicillin", "reaction": "rash"},),
    bp_mmhg: tuple[int, int] | None = (128, 82),
    phq9_item9: int | None = 0,
    cssrs: list[int] | None = CSSRS_NONE,
) -> None:
    """What screening asks of a registered patient besides diagnoses and trials: conditions
    asked about and found absent, allergies, a blood pressure, PHQ-9 and the C-SSRS screener."""
    for condition in ruled_out:
        patients.add_diagnosis(db, ctx, patient_id, {"condition": condition, "status": "ruled-out"})
    for allergy in allergies:
        patients.add_allergy(db, ctx, patient_id, allergy)
    earlier = ctx.now - timedelta(minutes=20)
    if bp_mmhg is not None:
        patients.record_vitals(
            db,
            ctx,
            patient_id,
            {"systolic_mmhg": bp_mmhg[0], "diastolic_mmhg": bp_mmhg[1]},
            earlier,
        )
    if phq9_item9 is not None:
        answers = [2, 2, 1, 2, 1, 1, 1, 0, phq9_item9]
        measurement.record_questionnaire_response(
            db, ctx, patient_id, "phq9", answers, administered_at=earlier
        )
    if cssrs is not None:
        measurement.record_questionnaire_response(
            db, ctx, patient_id, "cssrs-screener", cssrs, administered_at=earlier
        )
