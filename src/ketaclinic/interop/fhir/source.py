"""Everything one patient's FHIR resources are made of, read in one go from the database.

The mappers read this snapshot instead of querying, so the same mappers serve the identified
export, the de-identified one (``interop.deidentify`` rewrites the snapshot) and the endpoint.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence
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


# What a snapshot can hold beyond the patient row; a mapper names the parts it reads (its
# ``needs``), so the endpoint loads only what the requested resource type is built from.
PARTS = frozenset(
    {
        "contacts", "diagnoses", "medications", "trials", "allergies", "observations",
        "responses", "consents", "plans", "sessions", "adverse_events", "flags", "audit_events",
    }
)  # fmt: skip


def load_patient_data(
    db: Session, patient_id: str, parts: Collection[str] | None = None
) -> PatientData:
    """The patient's snapshot: every part, or only ``parts`` (others stay empty)."""
    wanted = PARTS if parts is None else frozenset(parts)
    unknown = wanted - PARTS
    if unknown:
        raise ValueError(f"unknown snapshot parts {sorted(unknown)}; known: {sorted(PARTS)}")
    data = PatientData(patient=get_patient_row(db, patient_id))
    simple: dict[str, type[Any]] = {
        "contacts": PatientContactRow, "diagnoses": DiagnosisRow, "medications": MedicationRow,
        "trials": AntidepressantTrialRow, "allergies": AllergyRow, "consents": ConsentRow,
        "adverse_events": AdverseEventRow, "flags": SafetyFlagRow,
    }  # fmt: skip
    for name, table in simple.items():
        if name in wanted:
            setattr(data, name, _rows(db, table, patient_id))
    if "responses" in wanted:
        data.responses = _rows(db, QuestionnaireResponseRow, patient_id)
        data.answers = _answers(db, data.responses)
    if "sessions" in wanted or "observations" in wanted:
        session_rows = _session_rows(db, patient_id)
        readings = session_rows.pop("session_readings")
        if "sessions" in wanted:
            data.sessions = session_rows["sessions"]
            data.steps, data.dosing = session_rows["steps"], session_rows["dosing"]
        if "observations" in wanted:
            data.observations = _rows(db, ObservationRow, patient_id) + readings
    if "plans" in wanted:
        data.plans, data.plan_sessions = _plan_rows(db, patient_id)
    if "audit_events" in wanted:
        data.audit_events = list(
            db.scalars(
                select(AuditEvent)
                .where(AuditEvent.patient_id == patient_id)
                .order_by(AuditEvent.sequence)
            )
        )
    return data


def _answers(db: Session, responses: list[QuestionnaireResponseRow]) -> dict[str, dict[str, float]]:
    answers: dict[str, dict[str, float]] = {r.id: {} for r in responses}
    if responses:
        for answer in db.scalars(
            select(QuestionnaireItemAnswerRow)
            .where(QuestionnaireItemAnswerRow.response_id.in_([r.id for r in responses]))
            .order_by(QuestionnaireItemAnswerRow.response_id, QuestionnaireItemAnswerRow.position)
        ):
            answers[answer.response_id][answer.item_id] = answer.value
    return answers


def _plan_rows(
    db: Session, patient_id: str
) -> tuple[list[TreatmentPlanRow], dict[str, list[PlanSessionRow]]]:
    plans = _rows(db, TreatmentPlanRow, patient_id)
    calendar: dict[str, list[PlanSessionRow]] = {plan.id: [] for plan in plans}
    if plans:
        for row in db.scalars(
            select(PlanSessionRow)
            .where(PlanSessionRow.plan_id.in_(list(calendar)))
            .order_by(PlanSessionRow.plan_id, PlanSessionRow.sequence)
        ):
            calendar[row.plan_id].append(row)
    return plans, calendar


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
# A reading's observation id names the reading and the measure, so the endpoint can find the
# record a requested id belongs to without building every observation ("reading-<n>-<kind>").
READING_ID = re.compile(r"^reading-(?P<reading>[0-9]+)-(?P<kind>[a-z0-9-]+)$")


def reading_observation_id(reading_id: int, kind: str) -> str:
    return f"reading-{reading_id}-{kind.replace('_', '-')}"


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
                id=reading_observation_id(reading.id, kind),
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
