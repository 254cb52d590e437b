"""Which patient a FHIR resource id belongs to, found in the tables, so that a read builds one
patient's resources of one type instead of every resource of every visible patient.

Identified ids are record ids (a score Observation is ``score-<response id>``, a session reading's
observation ``reading-<n>-<kind>``, an AuditEvent ``audit-<sequence>``): one indexed lookup.
De-identified ids are keyed pseudonyms, which cannot be reversed: the ids of the requested type's
tables are pseudonymised for the visible (research-consented) patients until one matches. That
costs one HMAC per candidate record of that type, never a snapshot or a mapper run.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.interop.deidentify import Deidentifier
from ketaclinic.interop.fhir.mappers.questionnaire_response import SCORE_OBSERVATION_PREFIX
from ketaclinic.interop.fhir.source import READING_ID
from ketaclinic.storage.tables.access import AuditEvent
from ketaclinic.storage.tables.consents import ConsentRow
from ketaclinic.storage.tables.measurements import ObservationRow, QuestionnaireResponseRow
from ketaclinic.storage.tables.patients import (
    AllergyRow,
    AntidepressantTrialRow,
    DiagnosisRow,
    MedicationRow,
    PatientContactRow,
    PatientRow,
)
from ketaclinic.storage.tables.planning import TreatmentPlanRow
from ketaclinic.storage.tables.safety import AdverseEventRow, SafetyFlagRow
from ketaclinic.storage.tables.sessions import SessionReadingRow, SupervisedSessionRow

# Resource type -> the tables whose row ids are its resource ids.
_TABLES: dict[str, tuple[Any, ...]] = {
    "RelatedPerson": (PatientContactRow,),
    "Condition": (DiagnosisRow,),
    "MedicationStatement": (MedicationRow, AntidepressantTrialRow),
    "AllergyIntolerance": (AllergyRow,),
    "Observation": (ObservationRow,),
    "QuestionnaireResponse": (QuestionnaireResponseRow,),
    "Encounter": (SupervisedSessionRow,),
    "MedicationAdministration": (SupervisedSessionRow,),
    "CarePlan": (TreatmentPlanRow,),
    "AdverseEvent": (AdverseEventRow,),
    "Flag": (SafetyFlagRow,),
    "Consent": (ConsentRow,),
}
_AUDIT_PREFIX = "audit-"
_UUID_LENGTH = 36


def owner_of(
    db: Session,
    resource_type: str,
    resource_id: str,
    *,
    visible: Collection[str] | None,
    deidentifier: Deidentifier | None,
) -> str | None:
    """The id of the patient whose record holds ``resource_type/resource_id``, if visible."""
    if deidentifier is None:
        owner = _identified_owner(db, resource_type, resource_id)
        return owner if owner is not None and (visible is None or owner in visible) else None
    assert visible is not None, "a de-identified view lists its patients"
    return _pseudonymous_owner(db, resource_type, resource_id, set(visible), deidentifier)


def _identified_owner(db: Session, resource_type: str, resource_id: str) -> str | None:
    if resource_type == "Patient":
        return db.scalar(select(PatientRow.id).where(PatientRow.id == resource_id))
    if resource_type == "AuditEvent":
        sequence = resource_id.removeprefix(_AUDIT_PREFIX)
        if not resource_id.startswith(_AUDIT_PREFIX) or not sequence.isdigit():
            return None
        return db.scalar(select(AuditEvent.patient_id).where(AuditEvent.sequence == int(sequence)))
    if resource_type == "Observation":
        if resource_id.startswith(SCORE_OBSERVATION_PREFIX):
            return _identified_owner(
                db, "QuestionnaireResponse", resource_id.removeprefix(SCORE_OBSERVATION_PREFIX)
            )
        reading = READING_ID.match(resource_id)
        if reading is not None:
            return db.scalar(
                select(SupervisedSessionRow.patient_id)
                .join(SessionReadingRow, SessionReadingRow.session_id == SupervisedSessionRow.id)
                .where(SessionReadingRow.id == int(reading["reading"]))
            )
    for table in _TABLES.get(resource_type, ()):
        found = db.scalar(select(table.patient_id).where(table.id == resource_id))
        if found is not None:
            return str(found)
    return None


def _first_match(
    candidates: Iterable[tuple[Any, str]], wanted: str, key: Deidentifier, visible: set[str]
) -> str | None:
    for source_id, patient_id in candidates:
        if patient_id in visible and key.pseudonym(str(source_id)) == wanted:
            return patient_id
    return None


def _pseudonymous_owner(
    db: Session, resource_type: str, resource_id: str, visible: set[str], key: Deidentifier
) -> str | None:
    if resource_type == "Patient":
        return _first_match(((p, p) for p in visible), resource_id, key, visible)
    if resource_type == "Observation":
        if resource_id.startswith(SCORE_OBSERVATION_PREFIX):
            return _pseudonymous_owner(
                db, "QuestionnaireResponse", resource_id.removeprefix(SCORE_OBSERVATION_PREFIX),
                visible, key,
            )  # fmt: skip
        if len(resource_id) > _UUID_LENGTH and resource_id[_UUID_LENGTH] == "-":
            # "<pseudonym of reading-<n>>-<kind>" (Deidentifier.resource_id)
            readings = db.execute(
                select(SessionReadingRow.id, SupervisedSessionRow.patient_id).join(
                    SupervisedSessionRow, SessionReadingRow.session_id == SupervisedSessionRow.id
                )
            )
            wanted = resource_id[:_UUID_LENGTH]
            return _first_match(((f"reading-{n}", p) for n, p in readings), wanted, key, visible)
    for table in _TABLES.get(resource_type, ()):
        rows = db.execute(select(table.id, table.patient_id))
        found = _first_match(((i, p) for i, p in rows), resource_id, key, visible)
        if found is not None:
            return found
    return None
