"""The patient summary a clinician reads: the record with the derived facts (age, BMI, TRD count).

Kept apart from the write use cases in ``patients.py``; ``patients.get_patient_summary`` and
``patients.list_patients`` are the public names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ketaclinic.clinical.record import (
    Allergy,
    Contact,
    ContactDetails,
    Diagnosis,
    Identity,
    Medication,
    PatientSummary,
    age_years,
    medication_classes,
)
from ketaclinic.clinical.treatment_resistance import (
    AntidepressantTrial,
    count_adequate_failed_trials,
)
from ketaclinic.clinical.vitals import VitalKind, bmi_kg_per_m2
from ketaclinic.clinical.vocabulary import MedicationClass
from ketaclinic.errors import InvalidInput
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import RequestContext
from ketaclinic.storage.tables.measurements import ObservationRow
from ketaclinic.storage.tables.patients import (
    AllergyRow,
    AntidepressantTrialRow,
    DiagnosisRow,
    MedicationRow,
    PatientContactRow,
    PatientRow,
)


def _latest_value(db: Session, patient_id: str, kind: VitalKind) -> float | None:
    value = db.scalars(
        select(ObservationRow.value)
        .where(ObservationRow.patient_id == patient_id, ObservationRow.kind == kind.value)
        .order_by(ObservationRow.observed_at.desc())
        .limit(1)
    ).first()
    return value


def _medication(row: MedicationRow) -> Medication:
    stored = frozenset(MedicationClass(c) for c in row.classes.split(",") if c)
    return Medication(
        drug_name=row.drug_name,
        dose_amount=row.dose_amount,
        dose_unit=row.dose_unit,
        frequency=row.frequency,
        started_on=row.started_on,
        stopped_on=row.stopped_on,
        declared_classes=stored,
        notes=row.notes,
    )


def build_summary(db: Session, ctx: RequestContext, patient: PatientRow) -> PatientSummary:
    pid = patient.id
    today = ctx.now.date()

    def rows_of(table: type[DiagnosisRow | MedicationRow | AntidepressantTrialRow]) -> list:  # type: ignore[type-arg]
        return list(
            db.scalars(select(table).where(table.patient_id == pid).order_by(table.created_at))
        )

    contacts = db.scalars(
        select(PatientContactRow)
        .where(PatientContactRow.patient_id == pid)
        .order_by(PatientContactRow.created_at)
    )
    medications = [_medication(r) for r in rows_of(MedicationRow)]
    current = tuple(m for m in medications if m.is_current(today))
    trials = tuple(
        AntidepressantTrial(
            drug=r.drug_name,
            dose_mg_per_day=r.dose_mg_per_day,
            duration_weeks=r.duration_weeks,
            outcome=r.outcome,
        )
        for r in rows_of(AntidepressantTrialRow)
    )
    allergies = db.scalars(
        select(AllergyRow).where(AllergyRow.patient_id == pid).order_by(AllergyRow.created_at)
    )
    weight = _latest_value(db, pid, VitalKind.WEIGHT_KG)
    height = _latest_value(db, pid, VitalKind.HEIGHT_CM)
    identity = Identity.model_validate(patient, from_attributes=True)
    summary = PatientSummary(
        patient_id=pid,
        mrn=patient.mrn,
        identity=identity,
        contact=ContactDetails.model_validate(patient, from_attributes=True),
        is_synthetic=patient.is_synthetic,
        age_years=age_years(identity.date_of_birth, today),
        contacts=tuple(Contact.model_validate(c, from_attributes=True) for c in contacts),
        diagnoses=tuple(
            Diagnosis(
                condition=r.condition_id, status=r.status, onset_date=r.onset_date, notes=r.notes
            )
            for r in rows_of(DiagnosisRow)
        ),
        current_medications=current,
        past_medications=tuple(m for m in medications if not m.is_current(today)),
        current_medication_classes=frozenset().union(
            *(medication_classes(m.drug_name, m.declared_classes) for m in current)
        ),
        antidepressant_trials=trials,
        adequate_failed_trials=count_adequate_failed_trials(trials),
        allergies=tuple(Allergy.model_validate(a, from_attributes=True) for a in allergies),
        latest_weight_kg=weight,
        latest_height_cm=height,
        bmi_kg_per_m2=None if weight is None or height is None else bmi_kg_per_m2(weight, height),
    )
    record_event(db, ctx.actor, "patient.read", "patient", pid, patient_id=pid, now=ctx.now)
    return summary


@dataclass(frozen=True)
class PatientListItem:
    patient_id: str
    mrn: str
    display_name: str
    date_of_birth: date
    sex: str
    is_synthetic: bool


def list_patients(
    db: Session, *, search: str | None = None, limit: int = 100, offset: int = 0
) -> list[PatientListItem]:
    """Patients by family then given name; ``search`` matches a name part or the clinic number."""
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit must be between 1 and 1000.", field="limit")
    query = select(PatientRow).order_by(
        PatientRow.family_name, PatientRow.given_name, PatientRow.mrn
    )
    if search and search.strip():
        pattern = f"%{search.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(PatientRow.family_name).like(pattern),
                func.lower(PatientRow.given_name).like(pattern),
                func.lower(PatientRow.preferred_name).like(pattern),
                func.lower(PatientRow.mrn).like(pattern),
            )
        )
    return [
        PatientListItem(
            patient_id=row.id,
            mrn=row.mrn,
            display_name=f"{row.family_name}, {row.preferred_name or row.given_name}",
            date_of_birth=row.date_of_birth,
            sex=row.sex,
            is_synthetic=row.is_synthetic,
        )
        for row in db.scalars(query.limit(limit).offset(offset))
    ]
