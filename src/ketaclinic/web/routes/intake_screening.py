"""Screening: run it from the record (with the screener's statements for what the record does
not hold), see the decision with reasons and citations, and let a prescriber override a finding
with a written reason."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketaclinic.clinical.eligibility import Treatment
from ketaclinic.clinical.eligibility.rules import RuleClass
from ketaclinic.errors import InvalidInput
from ketaclinic.services import patients, screening
from ketaclinic.services.context import Actor
from ketaclinic.web.deps import CurrentActor, DbSession, Now, ensure_patient_access, require
from ketaclinic.web.routes._clinic_forms import context, field_errors
from ketaclinic.web.templating import render

router = APIRouter(prefix="/patients/{patient_id}/intake/screening", tags=["intake"])

ScreeningRead = Depends(require("screening:read"))
ScreeningChange = Depends(require("screening:change"))
OverrideChange = Depends(require("screening_override:change"))

TREATMENTS = [
    (Treatment.RACEMIC_IV_IM.value, "Racemic ketamine, IV or IM"),
    (Treatment.ESKETAMINE_INTRANASAL.value, "Esketamine nasal spray"),
    (
        Treatment.RACEMIC_ORAL_SUBLINGUAL.value,
        "Racemic ketamine, oral or sublingual (experimental)",
    ),
]
YES_NO = [("yes", "Yes"), ("no", "No")]
# The screener's statements: (form name, label, options); empty = not asked / unknown.
STATEMENTS: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("pregnant", "Pregnant?", YES_NO),
    ("breastfeeding", "Breastfeeding?", YES_NO),
    ("hypersensitivity_to_ketamine", "Known hypersensitivity to ketamine or esketamine?", YES_NO),
    ("urinary_symptoms", "Urinary symptoms (frequency, urgency, pain)?", YES_NO),
    (
        "hypertension_uncontrolled",
        # No word "treatment" here: the page's treatment field is found by that label.
        "Blood pressure uncontrolled, in your judgement? (A reading at or above the clinic's "
        "intervention level counts as uncontrolled anyway)",
        [("yes", "Yes, not controlled"), ("no", "No, controlled")],
    ),
    (
        "sleep_apnoea_risk",
        "Sleep apnoea risk (STOP-BANG)",
        [("low", "Low"), ("intermediate", "Intermediate"), ("high", "High")],
    ),
    (
        "hepatic_impairment",
        "Liver impairment",
        [("none", "None"), ("mild", "Mild"), ("moderate", "Moderate"), ("severe", "Severe")],
    ),
    (
        "phq9_item9",
        "PHQ-9 item 9 asked at interview (only if no PHQ-9 is on record)",
        [
            ("0", "0: not at all"),
            ("1", "1: several days"),
            ("2", "2: more than half the days"),
            ("3", "3: nearly every day"),
        ],
    ),
    (
        "cssrs_screener_risk",
        "C-SSRS screener risk (only if no C-SSRS is on record)",
        [("low", "Low"), ("moderate", "Moderate"), ("high", "High")],
    ),
]
_BOOLEAN = {
    "pregnant",
    "breastfeeding",
    "hypersensitivity_to_ketamine",
    "urinary_symptoms",
    "hypertension_uncontrolled",
}
_CHECKBOXES = (
    ("takes_no_medicines", "The patient takes no medicines"),
    ("no_antidepressant_trials", "The patient has had no antidepressant trials"),
)


def overridable(record: screening.ScreeningRecord) -> list[Any]:
    """Findings a prescriber may override: blocking ones, and relative contraindications present."""
    return [
        f
        for f in record.decision.findings
        if f.override is None
        and (f.blocks or (f.rule_class is RuleClass.RELATIVE and f.status == "present"))
    ]


def _page(
    request: Request,
    db: DbSession,
    actor: Actor,
    now: datetime,
    patient_id: str,
    *,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    override_errors: dict[str, str] | None = None,
    override_values: dict[str, Any] | None = None,
) -> Response:
    ensure_patient_access(actor, patient_id)
    ctx = context(actor, now)
    summary = patients.get_patient_summary(db, ctx, patient_id)
    records = []
    for value, label in TREATMENTS:
        record = screening.latest_screening(db, ctx, patient_id, value)
        if record is not None:
            records.append((label, record, overridable(record)))
    records.sort(key=lambda r: r[1].screened_at, reverse=True)
    return render(
        request,
        "intake_screening.html",
        {
            "pid": patient_id,
            "summary": summary,
            "records": records,
            "treatments": TREATMENTS,
            "statements": STATEMENTS,
            "checkboxes": _CHECKBOXES,
            "values": values or {},
            "errors": errors or {},
            "override_errors": override_errors or {},
            "override_values": override_values or {},
            "may_override": actor.role == "prescriber",
        },
        status_code=status_code,
    )


@router.get("", response_class=HTMLResponse, dependencies=[ScreeningRead])
def screening_page(
    request: Request, patient_id: str, db: DbSession, actor: CurrentActor, now: Now
) -> Response:
    return _page(request, db, actor, now, patient_id)


def _statements(fields: dict[str, str]) -> dict[str, Any]:
    stated: dict[str, Any] = {}
    for name, _, _ in STATEMENTS:
        value = fields.get(name, "")
        if not value:
            continue
        if name in _BOOLEAN:
            stated[name] = value == "yes"
        elif name == "phq9_item9":
            stated[name] = int(value) if value.isdigit() else value
        else:
            stated[name] = value
    for name, _ in _CHECKBOXES:
        if fields.get(name):
            stated[name] = True
    return stated


@router.post("", response_class=HTMLResponse, dependencies=[ScreeningChange])
def run_screening(
    request: Request,
    patient_id: str,
    db: DbSession,
    actor: CurrentActor,
    now: Now,
    treatment: Annotated[str, Form()] = "",
    pregnant: Annotated[str, Form()] = "",
    breastfeeding: Annotated[str, Form()] = "",
    hypersensitivity_to_ketamine: Annotated[str, Form()] = "",
    urinary_symptoms: Annotated[str, Form()] = "",
    hypertension_uncontrolled: Annotated[str, Form()] = "",
    sleep_apnoea_risk: Annotated[str, Form()] = "",
    hepatic_impairment: Annotated[str, Form()] = "",
    phq9_item9: Annotated[str, Form()] = "",
    cssrs_screener_risk: Annotated[str, Form()] = "",
    takes_no_medicines: Annotated[str, Form()] = "",
    no_antidepressant_trials: Annotated[str, Form()] = "",
) -> Response:
    ensure_patient_access(actor, patient_id)
    values = {
        "treatment": treatment,
        "pregnant": pregnant,
        "breastfeeding": breastfeeding,
        "hypersensitivity_to_ketamine": hypersensitivity_to_ketamine,
        "urinary_symptoms": urinary_symptoms,
        "hypertension_uncontrolled": hypertension_uncontrolled,
        "sleep_apnoea_risk": sleep_apnoea_risk,
        "hepatic_impairment": hepatic_impairment,
        "phq9_item9": phq9_item9,
        "cssrs_screener_risk": cssrs_screener_risk,
        "takes_no_medicines": takes_no_medicines,
        "no_antidepressant_trials": no_antidepressant_trials,
    }
    try:
        if treatment not in {value for value, _ in TREATMENTS}:
            raise InvalidInput("Choose the treatment to screen for.", field="treatment")
        screening.screen_patient(
            db, context(actor, now), patient_id, treatment, _statements(values)
        )
    except InvalidInput as exc:
        db.rollback()
        return _page(
            request,
            db,
            actor,
            now,
            patient_id,
            status_code=422,
            values=values,
            errors=field_errors(exc, "treatment"),
        )
    return RedirectResponse(f"/patients/{patient_id}/intake/screening#decision", status_code=303)


@router.post("/{screening_id}/override", response_class=HTMLResponse, dependencies=[OverrideChange])
def override(
    request: Request,
    patient_id: str,
    screening_id: str,
    db: DbSession,
    actor: CurrentActor,
    now: Now,
    rule_ids: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI form default
    reason: Annotated[str, Form()] = "",
) -> Response:
    ensure_patient_access(actor, patient_id)
    patients.get_patient_row(db, patient_id)
    kept = {"screening_id": screening_id, "rule_ids": rule_ids, "reason": reason}
    try:
        if not rule_ids:
            raise InvalidInput("Tick the finding or findings you override.", field="rule_ids")
        if not reason.strip():
            raise InvalidInput(
                "Write the reason for the override; it is kept in the record.", field="reason"
            )
        screening.override_screening(db, context(actor, now), screening_id, rule_ids, reason)
    except InvalidInput as exc:
        db.rollback()
        errors = {exc.field or "reason": exc.message}
        return _page(
            request,
            db,
            actor,
            now,
            patient_id,
            status_code=422,
            override_errors=errors,
            override_values=kept,
        )
    return RedirectResponse(f"/patients/{patient_id}/intake/screening#decision", status_code=303)
