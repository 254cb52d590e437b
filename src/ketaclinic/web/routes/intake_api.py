"""The JSON API of registration and intake: the same use cases as the patient and intake pages
(registering a patient, diagnoses, conditions ruled out, medicines, antidepressant trials,
allergies, body measures and vital signs, clinician-entered questionnaires) and reading the
screening decisions, with the pages' permissions and audit entries.

Bodies are the clinical record's own models, so the OpenAPI schema documents every field; a value
the record refuses answers ``{"error", "field"}`` with status 422 and nothing is written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from ketaclinic.clinical.record import Allergy, ContactDetails, Diagnosis, Identity, Medication
from ketaclinic.clinical.treatment_resistance import AntidepressantTrial
from ketaclinic.clinical.vocabulary import ConditionStatus
from ketaclinic.errors import InvalidInput
from ketaclinic.services import measurement, patients, screening
from ketaclinic.web.deps import CurrentContext, DbSession, ensure_patient_access, require
from ketaclinic.web.routes.clinical_api import _jsonable

router = APIRouter(prefix="/api/v1", tags=["registration and intake API"])

PatientsChange = Depends(require("patient_record:change"))
IntakeRead = Depends(require("screening:read"))
IntakeChange = Depends(require("screening:change"))


class NewPatientIn(BaseModel):
    identity: Identity
    contact: ContactDetails = Field(default_factory=ContactDetails)
    mrn: str | None = Field(
        default=None, description="The clinic number; generated (KC-...) when not given."
    )


class RuledOutIn(BaseModel):
    conditions: list[str] = Field(
        min_length=1, description="Condition ids asked about and found absent."
    )


class VitalsIn(BaseModel):
    values: dict[str, float] = Field(
        min_length=1,
        description="e.g. {'weight_kg': 80, 'systolic_mmhg': 128, 'diastolic_mmhg': 82}; both "
        "blood pressure numbers or neither.",
    )
    observed_at: datetime | None = Field(default=None, description="Defaults to now.")


class QuestionnaireIn(BaseModel):
    answers: dict[str, int] = Field(description="Item id to answer value, e.g. {'q1': 0}.")
    administered_at: datetime | None = Field(default=None, description="Defaults to now.")


class CreatedOut(BaseModel):
    id: str


@router.post("/patients", status_code=201, dependencies=[PatientsChange])
def register(body: NewPatientIn, db: DbSession, ctx: CurrentContext) -> dict[str, str]:
    """Register a patient (then record the history with the calls below)."""
    patient_id = patients.register_patient(db, ctx, body.identity, body.contact, mrn=body.mrn)
    return {"patient_id": patient_id, "mrn": patients.get_patient_row(db, patient_id).mrn}


@router.post("/patients/{patient_id}/diagnoses", status_code=201, dependencies=[IntakeChange])
def add_diagnosis(
    patient_id: str, body: Diagnosis, db: DbSession, ctx: CurrentContext
) -> CreatedOut:
    ensure_patient_access(ctx.actor, patient_id)
    return CreatedOut(id=patients.add_diagnosis(db, ctx, patient_id, body))


@router.post(
    "/patients/{patient_id}/ruled-out-conditions", status_code=201, dependencies=[IntakeChange]
)
def rule_out(
    patient_id: str, body: RuledOutIn, db: DbSession, ctx: CurrentContext
) -> list[CreatedOut]:
    """Conditions asked about and found absent, in one go (screening needs "no", not silence)."""
    ensure_patient_access(ctx.actor, patient_id)
    status = ConditionStatus.RULED_OUT.value
    return [
        CreatedOut(
            id=patients.add_diagnosis(db, ctx, patient_id, {"condition": c, "status": status})
        )
        for c in body.conditions
    ]


@router.post("/patients/{patient_id}/medications", status_code=201, dependencies=[IntakeChange])
def add_medication(
    patient_id: str, body: Medication, db: DbSession, ctx: CurrentContext
) -> CreatedOut:
    ensure_patient_access(ctx.actor, patient_id)
    return CreatedOut(id=patients.add_medication(db, ctx, patient_id, body))


@router.post(
    "/patients/{patient_id}/antidepressant-trials", status_code=201, dependencies=[IntakeChange]
)
def add_trial(
    patient_id: str, body: AntidepressantTrial, db: DbSession, ctx: CurrentContext
) -> CreatedOut:
    ensure_patient_access(ctx.actor, patient_id)
    return CreatedOut(id=patients.add_antidepressant_trial(db, ctx, patient_id, body))


@router.post("/patients/{patient_id}/allergies", status_code=201, dependencies=[IntakeChange])
def add_allergy(patient_id: str, body: Allergy, db: DbSession, ctx: CurrentContext) -> CreatedOut:
    ensure_patient_access(ctx.actor, patient_id)
    return CreatedOut(id=patients.add_allergy(db, ctx, patient_id, body))


@router.post("/patients/{patient_id}/vitals", status_code=201, dependencies=[IntakeChange])
def record_vitals(
    patient_id: str, body: VitalsIn, db: DbSession, ctx: CurrentContext
) -> dict[str, str]:
    """Body measures and vital signs taken together; one impossible value refuses them all."""
    ensure_patient_access(ctx.actor, patient_id)
    if ("systolic_mmhg" in body.values) != ("diastolic_mmhg" in body.values):
        missing = "diastolic_mmhg" if "systolic_mmhg" in body.values else "systolic_mmhg"
        raise InvalidInput("Give both blood pressure numbers.", field=missing)
    return patients.record_vitals(db, ctx, patient_id, body.values, body.observed_at or ctx.now)


@router.post(
    "/patients/{patient_id}/questionnaires/{instrument_id}",
    status_code=201,
    dependencies=[IntakeChange],
)
def enter_questionnaire(
    patient_id: str, instrument_id: str, body: QuestionnaireIn, db: DbSession, ctx: CurrentContext
) -> dict[str, Any]:
    """A questionnaire entered by a clinician (any instrument, clinician-rated ones included);
    the score, its band and the alerts it raised."""
    ensure_patient_access(ctx.actor, patient_id)
    stored = measurement.record_questionnaire_response(
        db, ctx, patient_id, instrument_id, body.answers, administered_at=body.administered_at
    )
    return {"response_id": stored.response_id, "result": _jsonable(stored.result)}


@router.get("/patients/{patient_id}/screenings", dependencies=[IntakeRead])
def screenings(patient_id: str, db: DbSession, ctx: CurrentContext) -> list[dict[str, Any]]:
    """Every screening of the patient, oldest first, each with its decision, reasons, citations
    and overrides (an override's re-decision names the screening it supersedes)."""
    ensure_patient_access(ctx.actor, patient_id)
    found: list[dict[str, Any]] = _jsonable(screening.list_screenings(db, ctx, patient_id))
    return found


@router.get("/patients/{patient_id}/screenings/current", dependencies=[IntakeRead])
def current_screening(
    patient_id: str, treatment: str, db: DbSession, ctx: CurrentContext
) -> dict[str, Any] | None:
    """The decision in force for a treatment (racemic-iv-im, racemic-oral-sublingual or
    esketamine-intranasal); null when the patient was never screened for it."""
    ensure_patient_access(ctx.actor, patient_id)
    record = screening.latest_screening(db, ctx, patient_id, treatment)
    return None if record is None else dict(_jsonable(record))
