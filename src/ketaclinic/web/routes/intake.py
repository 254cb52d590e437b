"""Intake: history (diagnoses, medicines, antidepressant trials, allergies, body measures and
vital signs) and questionnaires entered by a clinician. Screening lives in ``intake_screening``.

Each form posts to its own address; a refused entry re-renders the page with the message beside
the field and what was typed kept; a saved entry returns to the page (post/redirect/get).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketaclinic.clinical.questionnaires.loader import list_instruments
from ketaclinic.clinical.record import conditions_file
from ketaclinic.clinical.vocabulary import ConditionStatus
from ketaclinic.errors import InvalidInput
from ketaclinic.services import consents, patients
from ketaclinic.services.context import Actor
from ketaclinic.web.deps import (
    CurrentActor,
    DbSession,
    Now,
    clinic_zone,
    ensure_patient_access,
    require,
)
from ketaclinic.web.routes._clinic_forms import (
    context,
    field_errors,
    form_fields,
    optional_date,
    optional_number,
)
from ketaclinic.web.templating import render

router = APIRouter(prefix="/patients/{patient_id}/intake", tags=["intake"])

IntakeRead = Depends(require("screening:read"))
IntakeChange = Depends(require("screening:change"))
TRIAL_OUTCOMES = [
    ("no-response", "No response"),
    ("partial-response", "Partial response"),
    ("response", "Response"),
    ("intolerance", "Stopped: not tolerated"),
    ("unknown", "Unknown"),
]
ALLERGY_SEVERITIES = [
    ("mild", "Mild"),
    ("moderate", "Moderate"),
    ("severe", "Severe"),
    ("unknown", "Unknown"),
]
SAVED = {
    "diagnosis": "Diagnosis added.",
    "ruled-out": "Recorded as asked and not present.",
    "medication": "Medicine added.",
    "trial": "Antidepressant trial added.",
    "allergy": "Allergy added.",
    "vitals": "Measurements recorded.",
    "consent": "Consent recorded.",
    "consent-withdrawn": "Consent withdrawn.",
}
# Body measures and vital signs the intake form takes, with their labels.
INTAKE_VITALS = (
    ("weight_kg", "Weight (kg)"),
    ("height_cm", "Height (cm)"),
    ("systolic_mmhg", "Systolic blood pressure (mmHg)"),
    ("diastolic_mmhg", "Diastolic blood pressure (mmHg)"),
    ("heart_rate_bpm", "Heart rate (/min)"),
)


def _intake_page(
    request: Request,
    db: DbSession,
    actor: Actor,
    now: datetime,
    patient_id: str,
    *,
    status_code: int = 200,
    section: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    saved: str | None = None,
) -> Response:
    ensure_patient_access(actor, patient_id)
    summary = patients.get_patient_summary(db, context(actor, now), patient_id)
    conditions = [(c.id.value, c.display) for c in conditions_file().conditions]
    consent_values = {"given_at": now.astimezone(clinic_zone(request)).strftime("%Y-%m-%dT%H:%M")}
    page: dict[str, Any] = {
        "summary": summary,
        "pid": patient_id,
        "section": section,
        "values": values or {},
        "errors": errors or {},
        "saved": SAVED.get(saved or ""),
        "conditions": conditions,
        "condition_names": dict(conditions),
        "not_yet_asked": [
            (value, name)
            for value, name in conditions
            if value not in {d.condition.value for d in summary.diagnoses}
        ],
        "statuses": [(s.value, s.value.replace("-", " ")) for s in ConditionStatus],
        "trial_outcomes": TRIAL_OUTCOMES,
        "allergy_severities": ALLERGY_SEVERITIES,
        "intake_vitals": INTAKE_VITALS,
        "instruments": [(i.id, i.short_name, i.name) for i in list_instruments()],
        # The consent register (intake_consents.py records and withdraws).
        "consents": consents.consent_register(db, context(actor, now), patient_id),
        "consent_kinds": [(k.value, label) for k, label in consents.KIND_LABELS.items()],
        "consent_values": values if section == "consent" else consent_values,
    }
    return render(request, "intake.html", page, status_code=status_code)


@router.get("", response_class=HTMLResponse, dependencies=[IntakeRead])
def intake_page(
    request: Request,
    patient_id: str,
    db: DbSession,
    actor: CurrentActor,
    now: Now,
    saved: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    return _intake_page(request, db, actor, now, patient_id, saved=saved)


def _saved(patient_id: str, what: str) -> Response:
    return RedirectResponse(f"/patients/{patient_id}/intake?saved={what}#{what}", status_code=303)


def _refused(
    request: Request,
    db: DbSession,
    actor: Actor,
    now: datetime,
    patient_id: str,
    section: str,
    values: dict[str, str],
    exc: InvalidInput,
    default_field: str,
) -> Response:
    db.rollback()
    return _intake_page(
        request,
        db,
        actor,
        now,
        patient_id,
        status_code=422,
        section=section,
        values=values,
        errors=field_errors(exc, default_field),
    )


@router.post("/diagnoses", response_class=HTMLResponse, dependencies=[IntakeChange])
def add_diagnosis(
    request: Request,
    patient_id: str,
    db: DbSession,
    actor: CurrentActor,
    now: Now,
    condition: Annotated[str, Form()] = "",
    status: Annotated[str, Form()] = "active",
    onset_date: Annotated[str, Form()] = "",
    diagnosis_notes: Annotated[str, Form()] = "",
) -> Response:
    ensure_patient_access(actor, patient_id)
    values = {
        "condition": condition,
        "status": status,
        "onset_date": onset_date,
        "diagnosis_notes": diagnosis_notes,
    }
    try:
        if not condition:
            raise InvalidInput("Choose the condition.", field="condition")
        patients.add_diagnosis(
            db,
            context(actor, now),
            patient_id,
            {
                "condition": condition,
                "status": status,
                "onset_date": optional_date(onset_date, "onset_date"),
                "notes": diagnosis_notes or None,
            },
        )
    except InvalidInput as exc:
        return _refused(request, db, actor, now, patient_id, "diagnosis", values, exc, "condition")
    return _saved(patient_id, "diagnosis")


@router.post("/diagnoses/ruled-out", response_class=HTMLResponse, dependencies=[IntakeChange])
def rule_out_conditions(
    request: Request,
    patient_id: str,
    db: DbSession,
    actor: CurrentActor,
    now: Now,
    ruled_out: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI form default
) -> Response:
    """Record in one go the conditions asked about and found absent (screening needs to know
    "no", not only "not recorded")."""
    ensure_patient_access(actor, patient_id)
    try:
        if not ruled_out:
            raise InvalidInput("Tick the conditions the patient does not have.", field="ruled_out")
        ctx = context(actor, now)
        for condition in ruled_out:
            patients.add_diagnosis(
                db, ctx, patient_id, {"condition": condition, "status": "ruled-out"}
            )
    except InvalidInput as exc:
        return _refused(request, db, actor, now, patient_id, "diagnosis", {}, exc, "ruled_out")
    return _saved(patient_id, "ruled-out")


@router.post("/medications", response_class=HTMLResponse, dependencies=[IntakeChange])
def add_medication(
    request: Request,
    patient_id: str,
    db: DbSession,
    actor: CurrentActor,
    now: Now,
    drug_name: Annotated[str, Form()] = "",
    dose_amount: Annotated[str, Form()] = "",
    dose_unit: Annotated[str, Form()] = "",
    frequency: Annotated[str, Form()] = "",
    started_on: Annotated[str, Form()] = "",
) -> Response:
    ensure_patient_access(actor, patient_id)
    values = {
        "drug_name": drug_name,
        "dose_amount": dose_amount,
        "dose_unit": dose_unit,
        "frequency": frequency,
        "started_on": started_on,
    }
    try:
        if not drug_name.strip():
            raise InvalidInput("Enter the medicine's name.", field="drug_name")
        patients.add_medication(
            db,
            context(actor, now),
            patient_id,
            {
                "drug_name": drug_name,
                "dose_amount": optional_number(dose_amount, "dose_amount", "The dose"),
                "dose_unit": dose_unit or None,
                "frequency": frequency or None,
                "started_on": optional_date(started_on, "started_on"),
            },
        )
    except InvalidInput as exc:
        return _refused(request, db, actor, now, patient_id, "medication", values, exc, "drug_name")
    return _saved(patient_id, "medication")


@router.post("/trials", response_class=HTMLResponse, dependencies=[IntakeChange])
def add_trial(
    request: Request,
    patient_id: str,
    db: DbSession,
    actor: CurrentActor,
    now: Now,
    trial_drug: Annotated[str, Form()] = "",
    trial_dose_mg_per_day: Annotated[str, Form()] = "",
    trial_duration_weeks: Annotated[str, Form()] = "",
    trial_outcome: Annotated[str, Form()] = "unknown",
) -> Response:
    ensure_patient_access(actor, patient_id)
    values = {
        "trial_drug": trial_drug,
        "trial_dose_mg_per_day": trial_dose_mg_per_day,
        "trial_duration_weeks": trial_duration_weeks,
        "trial_outcome": trial_outcome,
    }
    try:
        if not trial_drug.strip():
            raise InvalidInput("Enter the antidepressant's name.", field="trial_drug")
        patients.add_antidepressant_trial(
            db,
            context(actor, now),
            patient_id,
            {
                "drug": trial_drug,
                "dose_mg_per_day": optional_number(
                    trial_dose_mg_per_day, "trial_dose_mg_per_day", "The daily dose"
                ),
                "duration_weeks": optional_number(
                    trial_duration_weeks, "trial_duration_weeks", "The duration"
                ),
                "outcome": trial_outcome or "unknown",
            },
        )
    except InvalidInput as exc:
        renamed = {
            "drug": "trial_drug",
            "dose_mg_per_day": "trial_dose_mg_per_day",
            "duration_weeks": "trial_duration_weeks",
            "outcome": "trial_outcome",
        }
        errors = {renamed.get(k, k): v for k, v in field_errors(exc, "trial_drug").items()}
        db.rollback()
        return _intake_page(
            request,
            db,
            actor,
            now,
            patient_id,
            status_code=422,
            section="trial",
            values=values,
            errors=errors,
        )
    return _saved(patient_id, "trial")


@router.post("/allergies", response_class=HTMLResponse, dependencies=[IntakeChange])
def add_allergy(
    request: Request,
    patient_id: str,
    db: DbSession,
    actor: CurrentActor,
    now: Now,
    substance: Annotated[str, Form()] = "",
    reaction: Annotated[str, Form()] = "",
    severity: Annotated[str, Form()] = "",
) -> Response:
    ensure_patient_access(actor, patient_id)
    values = {"substance": substance, "reaction": reaction, "severity": severity}
    try:
        if not substance.strip():
            raise InvalidInput("Enter what the patient is allergic to.", field="substance")
        patients.add_allergy(
            db,
            context(actor, now),
            patient_id,
            {
                "substance": substance,
                "reaction": reaction or None,
                "severity": severity or None,
            },
        )
    except InvalidInput as exc:
        return _refused(request, db, actor, now, patient_id, "allergy", values, exc, "substance")
    return _saved(patient_id, "allergy")


@router.post("/vitals", response_class=HTMLResponse, dependencies=[IntakeChange])
def record_vitals(
    request: Request,
    patient_id: str,
    db: DbSession,
    actor: CurrentActor,
    now: Now,
    fields: Annotated[dict[str, str], Depends(form_fields)],
) -> Response:
    ensure_patient_access(actor, patient_id)
    values = {name: fields.get(name, "") for name, _ in INTAKE_VITALS}
    try:
        numbers: dict[str, float] = {}
        for name, label in INTAKE_VITALS:
            number = optional_number(values[name], name, label)
            if number is not None:
                numbers[name] = number
        if not numbers:
            raise InvalidInput("Enter at least one measurement.", field="weight_kg")
        if ("systolic_mmhg" in numbers) != ("diastolic_mmhg" in numbers):
            missing = "diastolic_mmhg" if "systolic_mmhg" in numbers else "systolic_mmhg"
            raise InvalidInput("Enter both blood pressure numbers.", field=missing)
        patients.record_vitals(db, context(actor, now), patient_id, numbers, now)
    except InvalidInput as exc:
        return _refused(request, db, actor, now, patient_id, "vitals", values, exc, "weight_kg")
    return _saved(patient_id, "vitals")
