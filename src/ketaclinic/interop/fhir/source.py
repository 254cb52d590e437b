"""Everything one patient's FHIR resources are made of, read in one go from the database.

The mappers read this snapshot instead of querying, so the same mappers serve the identified
export, the de-identified one (``interop.deidentify`` rewrites the snapshot) and the endpoint.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical.vitals import VitalKind, vital_definition
from ketaclinic.services.patients import get_patient_row
from ketaclinic.storage.tables.access import AuditEvent
from ketaclinic.storage.tables.consents import ConsentRow
from ketaclinic.storage.tables.measurements import (
    ObservationRow,
    QuestionnaireItemAnswerRow,
    QuestionnaireResponseRow,
)
from ketaclinic.storage.tables.patients import (
    AllergyRow,
    AntidepressantTrialRow,
    DiagnosisRow,
    MedicationRow,
    PatientContactRow,
    PatientRow,
)
from ketaclinic.storage.tables.planning import PlanSessionRow, TreatmentPlanRow
from ketaclinic.storage.tables.safety import AdverseEventRow, SafetyFlagRow
from ketaclinic.storage.tables.sessions import (
    SessionDosingRow,
    SessionReadingRow,
    SessionStepRow,
    SupervisedSessionRow,
)


@dataclass
class PatientData:
    """One patient's rows; detached copies when de-identified, never written back."""

    patient: PatientRow
    contacts: list[PatientContactRow] = field(default_factory=list)
    diagnoses: list[DiagnosisRow] = field(default_factory=list)
    medications: list[MedicationRow] = field(default_factory=list)
    trials: list[AntidepressantTrialRow] = field(default_factory=list)
    allergies: list[AllergyRow] = field(default_factory=list)
    observations: list[ObservationRow] = field(default_factory=list)
    responses: list[QuestionnaireResponseRow] = field(default_factory=list)
    # response id -> item id -> value, in the instrument's item order.
    answers: dict[str, dict[str, float]] = field(default_factory=dict)
    consents: list[ConsentRow] = field(default_factory=list)
    plans: list[TreatmentPlanRow] = field(default_factory=list)
    # plan id -> its calendar.
    plan_sessions: dict[str, list[PlanSessionRow]] = field(default_factory=dict)
    sessions: list[SupervisedSessionRow] = field(default_factory=list)
    # session id -> its medication administration record / its lifecycle steps in order.
    dosing: dict[str, SessionDosingRow] = field(default_factory=dict)
    steps: dict[str, list[SessionStepRow]] = field(default_factory=dict)
    adverse_events: list[AdverseEventRow] = field(default_factory=list)
    flags: list[SafetyFlagRow] = field(default_factory=list)
    # The audit trail entries about this patient (identified exports only).
    audit_events: list[AuditEvent] = field(default_factory=list)
    # Set by de-identification: age at the export date, 90 meaning "90 or over".
    deidentified: bool = False


RowT = TypeVar("RowT")


def _rows(db: Session, table: type[RowT], patient_id: str) -> list[RowT]:
    # Ordered by id only: stable across runs; the mappers order what needs a clinical order.
    entity: Any = table
    query = select(entity).where(entity.patient_id == patient_id).order_by(entity.id)
    return list(db.scalars(query))


def load_patient_data(db: Session, patient_id: str) -> PatientData:
    patient = get_patient_row(db, patient_id)

    responses = _rows(db, QuestionnaireResponseRow, patient_id)
    answers: dict[str, dict[str, float]] = {r.id: {} for r in responses}
    if responses:
        for answer in db.scalars(
            select(QuestionnaireItemAnswerRow)
            .where(QuestionnaireItemAnswerRow.response_id.in_([r.id for r in responses]))
            .order_by(QuestionnaireItemAnswerRow.response_id, QuestionnaireItemAnswerRow.position)
        ):
            answers[answer.response_id][answer.item_id] = answer.value
    session_rows = _session_rows(db, patient_id)
    observations = _rows(db, ObservationRow, patient_id) + session_rows.pop("session_readings")
    return PatientData(
        patient=patient,
        contacts=_rows(db, PatientContactRow, patient_id),
        diagnoses=_rows(db, DiagnosisRow, patient_id),
        medications=_rows(db, MedicationRow, patient_id),
        trials=_rows(db, AntidepressantTrialRow, patient_id),
        allergies=_rows(db, AllergyRow, patient_id),
        observations=observations,
        responses=responses,
        answers=answers,
        consents=_rows(db, ConsentRow, patient_id),
        **session_rows,
        **_plan_rows(db, patient_id),
        adverse_events=_rows(db, AdverseEventRow, patient_id),
        flags=_rows(db, SafetyFlagRow, patient_id),
        audit_events=list(
            db.scalars(
                select(AuditEvent)
                .where(AuditEvent.patient_id == patient_id)
                .order_by(AuditEvent.sequence)
            )
        ),
    )


def _plan_rows(db: Session, patient_id: str) -> dict[str, Any]:
    plans = _rows(db, TreatmentPlanRow, patient_id)
    calendar: dict[str, list[PlanSessionRow]] = {plan.id: [] for plan in plans}
    if plans:
        for row in db.scalars(
            select(PlanSessionRow)
            .where(PlanSessionRow.plan_id.in_(list(calendar)))
            .order_by(PlanSessionRow.plan_id, PlanSessionRow.sequence)
        ):
            calendar[row.plan_id].append(row)
    return {"plans": plans, "plan_sessions": calendar}


def _session_rows(db: Session, patient_id: str) -> dict[str, Any]:
    sessions = _rows(db, SupervisedSessionRow, patient_id)
    ids = [row.id for row in sessions]
    steps: dict[str, list[SessionStepRow]] = {i: [] for i in ids}
    dosing: dict[str, SessionDosingRow] = {}
    if ids:
        for step in db.scalars(
            select(SessionStepRow)
            .where(SessionStepRow.session_id.in_(ids))
            .order_by(SessionStepRow.session_id, SessionStepRow.position)
        ):
            steps[step.session_id].append(step)
        for record in db.scalars(
            select(SessionDosingRow).where(SessionDosingRow.session_id.in_(ids))
        ):
            dosing[record.session_id] = record
        readings = db.scalars(
            select(SessionReadingRow)
            .where(SessionReadingRow.session_id.in_(ids))
            .order_by(SessionReadingRow.session_id, SessionReadingRow.taken_at)
        )
        extra = [row for reading in readings for row in reading_observations(patient_id, reading)]
    else:
        extra = []
    return {"sessions": sessions, "steps": steps, "dosing": dosing, "session_readings": extra}


# Reading column -> (observation kind, UCUM unit); vital kinds take their unit from vitals.yaml.
_READING_SCALES = {
    "moaas": "{score}",
    "cadss_total": "{score}",
    "bprs_positive_total": "{score}",
    "phq9_item9": "{score}",
}
_READINGS_NAMESPACE = uuid.UUID("a3f3a9a0-5b7e-5d55-8a59-5f0b6a3b2c11")


def reading_observations(patient_id: str, reading: SessionReadingRow) -> list[ObservationRow]:
    """A session reading as observation rows (one per measured value, never stored): the
    vital-sign mapper and the OMOP measurement table then treat them like any other vital."""
    found: list[ObservationRow] = []
    kinds = {kind.value: vital_definition(kind).unit for kind in VitalKind} | _READING_SCALES
    for kind, unit in kinds.items():
        value = getattr(reading, kind, None)
        if value is None:
            continue
        found.append(
            ObservationRow(
                id=str(
                    uuid.uuid5(
                        _READINGS_NAMESPACE, f"{reading.session_id}|{reading.client_id}|{kind}"
                    )
                ),
                patient_id=patient_id,
                kind=kind,
                value=float(value),
                unit=unit,
                observed_at=reading.taken_at,
                recorded_at=reading.received_at,
                recorded_by=reading.recorded_by,
                method=reading.method,
                context_id=reading.session_id,
            )
        )
    return found


def all_patient_ids(db: Session) -> list[str]:
    return list(db.scalars(select(PatientRow.id).order_by(PatientRow.id)))


def iter_patient_data(db: Session, patient_ids: Sequence[str]) -> Iterator[PatientData]:
    for patient_id in patient_ids:
        yield load_patient_data(db, patient_id)
