"""The patient record: identity, contacts, diagnoses, medications, trials and allergies."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ketaclinic.storage.tables.base import Base, Timestamps, UUIDPrimaryKey
from ketaclinic.storage.tables.types import UTCDateTime, UUIDString


class PatientRow(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "patients"

    # The clinic's own record number, what staff read out and type in.
    mrn: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    given_name: Mapped[str] = mapped_column(String(100), nullable=False)
    family_name: Mapped[str] = mapped_column(String(100), nullable=False)
    preferred_name: Mapped[str | None] = mapped_column(String(100))
    date_of_birth: Mapped[date] = mapped_column(Date, nullable=False)
    sex: Mapped[str] = mapped_column(String(1), nullable=False)
    gender_identity: Mapped[str | None] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    address_line: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    # Synthetic (demo) records must never be mistaken for real people, in the UI or an export.
    is_synthetic: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class PatientContactRow(UUIDPrimaryKey, Timestamps, Base):
    """A person to reach about the patient: the escort who drives them home, next of kin, GP."""

    __tablename__ = "patient_contacts"
    __table_args__ = (Index("ix_patient_contacts_patient_id", "patient_id"),)

    patient_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("patients.id", ondelete="CASCADE"), nullable=False
    )
    role: Mapped[str] = mapped_column(String(30), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    relationship: Mapped[str | None] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)


class DiagnosisRow(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "diagnoses"
    __table_args__ = (Index("ix_diagnoses_patient_id", "patient_id"),)

    patient_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("patients.id", ondelete="CASCADE"), nullable=False
    )
    condition_id: Mapped[str] = mapped_column(String(50), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    onset_date: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)


class MedicationRow(UUIDPrimaryKey, Timestamps, Base):
    """A medication the patient takes (or took); classes come from the drug catalogue at entry."""

    __tablename__ = "medications"
    __table_args__ = (Index("ix_medications_patient_id", "patient_id"),)

    patient_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("patients.id", ondelete="CASCADE"), nullable=False
    )
    drug_name: Mapped[str] = mapped_column(String(120), nullable=False)
    dose_amount: Mapped[float | None] = mapped_column(Float)
    dose_unit: Mapped[str | None] = mapped_column(String(20))
    frequency: Mapped[str | None] = mapped_column(String(60))
    # Comma-separated MedicationClass ids, e.g. "benzodiazepine": the screening rules read these.
    classes: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    started_on: Mapped[date | None] = mapped_column(Date)
    stopped_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)


class AntidepressantTrialRow(UUIDPrimaryKey, Timestamps, Base):
    """One past antidepressant trial: the adequate failed ones define treatment resistance."""

    __tablename__ = "antidepressant_trials"
    __table_args__ = (Index("ix_antidepressant_trials_patient_id", "patient_id"),)

    patient_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("patients.id", ondelete="CASCADE"), nullable=False
    )
    drug_name: Mapped[str] = mapped_column(String(120), nullable=False)
    # Unknown when the patient cannot recall it: the trial then counts as not assessable.
    dose_mg_per_day: Mapped[float | None] = mapped_column(Float)
    duration_weeks: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(30), nullable=False)
    started_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)


class AllergyRow(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "allergies"
    __table_args__ = (Index("ix_allergies_patient_id", "patient_id"),)

    patient_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("patients.id", ondelete="CASCADE"), nullable=False
    )
    substance: Mapped[str] = mapped_column(String(120), nullable=False)
    reaction: Mapped[str | None] = mapped_column(String(200))
    severity: Mapped[str | None] = mapped_column(String(20))
    noted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
