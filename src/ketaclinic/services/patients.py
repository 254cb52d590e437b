"""Use cases of the patient record: register, update, add history, record measurements, summarise.

Recording vital signs and other measured values lives in :mod:`ketaclinic.services.observations`
and looking a patient up in :mod:`ketaclinic.services.patient_rows`; both are re-exported here, so
``patients.record_vitals`` and ``patients.get_patient_row`` keep working.

Every function takes the caller's Session and a RequestContext. Its writes run in one savepoint
(:func:`ketaclinic.storage.database.atomic`) together with the audit entry, so a refused input
leaves nothing behind; the caller commits (usually ``with transaction(factory) as db:``).
Input may be a validated model from :mod:`ketaclinic.clinical.record` or a plain mapping (a form,
JSON); a mapping is validated here and bad fields become an InvalidInput naming them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Session

from ketaclinic.clinical.record import (
    Allergy,
    Contact,
    ContactDetails,
    Diagnosis,
    Identity,
    Medication,
    PatientSummary,
    parse,
)
from ketaclinic.clinical.treatment_resistance import AntidepressantTrial
from ketaclinic.errors import InvalidInput
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import RequestContext
from ketaclinic.services.observations import record_observation as record_observation
from ketaclinic.services.observations import record_vital as record_vital
from ketaclinic.services.observations import record_vitals as record_vitals
from ketaclinic.services.patient_rows import find_patient_by_mrn as find_patient_by_mrn
from ketaclinic.services.patient_rows import get_patient_row as get_patient_row
from ketaclinic.services.patient_summary import PatientListItem as PatientListItem
from ketaclinic.services.patient_summary import build_summary
from ketaclinic.services.patient_summary import list_patients as list_patients
from ketaclinic.storage.database import atomic
from ketaclinic.storage.tables.patients import (
    AllergyRow,
    AntidepressantTrialRow,
    DiagnosisRow,
    MedicationRow,
    PatientContactRow,
    PatientRow,
)
from ketaclinic.storage.tables.types import new_id

ModelT = TypeVar("ModelT", bound=BaseModel)


def _as(model: type[ModelT], data: ModelT | Mapping[str, Any]) -> ModelT:
    return data if isinstance(data, model) else parse(model, data)


def _audit(
    db: Session,
    ctx: RequestContext,
    action: str,
    entity: str,
    entity_id: str,
    patient_id: str,
    detail: Mapping[str, Any] | None = None,
) -> None:
    record_event(
        db, ctx.actor, action, entity, entity_id, patient_id=patient_id, detail=detail, now=ctx.now
    )


def register_patient(
    db: Session,
    ctx: RequestContext,
    identity: Identity | Mapping[str, Any],
    contact: ContactDetails | Mapping[str, Any] | None = None,
    *,
    mrn: str | None = None,
    patient_id: str | None = None,
    is_synthetic: bool = False,
) -> str:
    """Create a patient; returns the new id. The clinic number (MRN) must be unused."""
    person = _as(Identity, identity)
    person.check_date_of_birth(ctx.now.date())
    details = _as(ContactDetails, contact or {})
    new_patient_id = patient_id or new_id()
    clinic_number = (mrn or f"KC-{new_patient_id[:8].upper()}").strip()
    if not clinic_number:
        raise InvalidInput("The clinic number (MRN) is empty.", field="mrn")
    with atomic(db):
        if find_patient_by_mrn(db, clinic_number) is not None:
            raise InvalidInput(
                f"Clinic number {clinic_number} is already used by another patient.", field="mrn"
            )
        db.add(
            PatientRow(
                id=new_patient_id,
                mrn=clinic_number,
                is_synthetic=is_synthetic,
                created_at=ctx.now,
                updated_at=ctx.now,
                **person.model_dump(),
                **details.model_dump(),
            )
        )
        db.flush()
        _audit(db, ctx, "patient.register", "patient", new_patient_id, new_patient_id)
    return new_patient_id


def update_demographics(
    db: Session,
    ctx: RequestContext,
    patient_id: str,
    identity: Identity | Mapping[str, Any] | None = None,
    contact: ContactDetails | Mapping[str, Any] | None = None,
) -> None:
    """Replace the identity and/or contact details (a full form, not a partial patch)."""
    with atomic(db):
        row = get_patient_row(db, patient_id)
        changed: dict[str, Any] = {}
        if identity is not None:
            person = _as(Identity, identity)
            person.check_date_of_birth(ctx.now.date())
            changed |= person.model_dump()
        if contact is not None:
            changed |= _as(ContactDetails, contact).model_dump()
        before = {name: getattr(row, name) for name in changed}
        for name, value in changed.items():
            setattr(row, name, value)
        row.updated_at = ctx.now
        db.flush()
        fields = sorted(name for name in changed if before[name] != changed[name])
        _audit(db, ctx, "patient.update", "patient", patient_id, patient_id, {"fields": fields})


def add_contact(
    db: Session,
    ctx: RequestContext,
    patient_id: str,
    contact: Contact | Mapping[str, Any],
    *,
    record_id: str | None = None,
) -> str:
    """Add an escort, transport, emergency, next-of-kin or GP contact."""
    value = _as(Contact, contact)
    return _add_row(
        db,
        ctx,
        patient_id,
        PatientContactRow,
        "contact",
        record_id,
        {**value.model_dump(), "role": value.role.value},
    )


def add_diagnosis(
    db: Session,
    ctx: RequestContext,
    patient_id: str,
    diagnosis: Diagnosis | Mapping[str, Any],
    *,
    record_id: str | None = None,
) -> str:
    value = _as(Diagnosis, diagnosis)
    return _add_row(
        db,
        ctx,
        patient_id,
        DiagnosisRow,
        "diagnosis",
        record_id,
        {
            "condition_id": value.condition.value,
            "status": value.status.value,
            "onset_date": value.onset_date,
            "notes": value.notes,
        },
    )


def add_medication(
    db: Session,
    ctx: RequestContext,
    patient_id: str,
    medication: Medication | Mapping[str, Any],
    *,
    record_id: str | None = None,
) -> str:
    """Record a medication; its classes come from the drug catalogue at entry (for screening)."""
    value = _as(Medication, medication)
    fields = value.model_dump(exclude={"declared_classes"})
    fields["classes"] = ",".join(sorted(c.value for c in value.classes))
    return _add_row(db, ctx, patient_id, MedicationRow, "medication", record_id, fields)


def add_antidepressant_trial(
    db: Session,
    ctx: RequestContext,
    patient_id: str,
    trial: AntidepressantTrial | Mapping[str, Any],
    *,
    started_on: date | None = None,
    notes: str | None = None,
    record_id: str | None = None,
) -> str:
    value = _as(AntidepressantTrial, trial)
    return _add_row(
        db,
        ctx,
        patient_id,
        AntidepressantTrialRow,
        "antidepressant_trial",
        record_id,
        {
            "drug_name": value.drug,
            "dose_mg_per_day": value.dose_mg_per_day,
            "duration_weeks": value.duration_weeks,
            "outcome": value.outcome,
            "started_on": started_on,
            "notes": notes,
        },
    )


def add_allergy(
    db: Session,
    ctx: RequestContext,
    patient_id: str,
    allergy: Allergy | Mapping[str, Any],
    *,
    record_id: str | None = None,
) -> str:
    value = _as(Allergy, allergy)
    return _add_row(
        db,
        ctx,
        patient_id,
        AllergyRow,
        "allergy",
        record_id,
        {**value.model_dump(), "noted_at": ctx.now},
    )


def _add_row(
    db: Session,
    ctx: RequestContext,
    patient_id: str,
    table: type[
        PatientContactRow | DiagnosisRow | MedicationRow | AntidepressantTrialRow | AllergyRow
    ],
    entity: str,
    record_id: str | None,
    fields: dict[str, Any],
) -> str:
    row_id = record_id or new_id()
    with atomic(db):
        get_patient_row(db, patient_id)
        db.add(
            table(
                id=row_id,
                patient_id=patient_id,
                created_at=ctx.now,
                updated_at=ctx.now,
                **fields,
            )
        )
        db.flush()
        _audit(db, ctx, f"patient.{entity}.add", entity, row_id, patient_id)
    return row_id


def get_patient_summary(db: Session, ctx: RequestContext, patient_id: str) -> PatientSummary:
    """The record with its derived facts: age, BMI, current medication classes and the number of
    adequate failed antidepressant trials (derived by the treatment-resistance rules)."""
    with atomic(db):
        return build_summary(db, ctx, get_patient_row(db, patient_id))
