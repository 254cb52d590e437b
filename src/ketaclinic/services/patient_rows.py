"""Looking up a patient's row: the one place that turns an unknown id into NotFound."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.errors import NotFound
from ketaclinic.storage.tables.patients import PatientRow


def get_patient_row(db: Session, patient_id: str) -> PatientRow:
    row = db.get(PatientRow, patient_id)
    if row is None:
        raise NotFound(f"No patient with id {patient_id}.", field="patient_id")
    return row


def find_patient_by_mrn(db: Session, mrn: str) -> PatientRow | None:
    return db.scalars(select(PatientRow).where(PatientRow.mrn == mrn)).one_or_none()
