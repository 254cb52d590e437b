"""A CodeSystem resource for every local code system the exported resources use.

Where FHIR or LOINC has no code, ketaclinic codes the concept in a system of its own under
``https://ketaclinic.org/fhir/CodeSystem/``. Each is published here with every code it can hold,
read from the same data files and enumerations the records are validated against, so a receiver
can look up any code it meets (``content: complete``). Two systems hold codes a clinic writes
itself (measurement codes typed at the desk, audit actions): they are published with
``content: not-present`` and say so, rather than claiming a list that could never be complete.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, get_args

from fhir.resources.R4B.codesystem import CodeSystem

from ketaclinic.clinical.policy import ProtocolKind
from ketaclinic.clinical.protocols import all_protocols
from ketaclinic.clinical.protocols.models import Phase
from ketaclinic.clinical.record import ContactRole, conditions_file
from ketaclinic.clinical.safety.adverse_events import preferred_terms
from ketaclinic.clinical.safety.tasks import FlagKind
from ketaclinic.clinical.sessions.lifecycle import SessionState
from ketaclinic.clinical.treatment_resistance import TrialOutcome
from ketaclinic.clinical.vocabulary import MedicationClass, Route
from ketaclinic.interop.fhir.codes import (
    CLINIC_OBSERVATION_CODES,
    CONDITION_CODES,
    CONSENT_KIND_CODES,
    CONTACT_ROLE_CODES,
    SYNTHETIC_TAG,
    code_system_resource,
)
from ketaclinic.interop.fhir.mappers.adverse_event import TERM_CODES
from ketaclinic.interop.fhir.mappers.audit_event import AUDIT_ACTION_CODES
from ketaclinic.interop.fhir.mappers.care_plan import PHASE_CODES, PROTOCOL_CODES
from ketaclinic.interop.fhir.mappers.encounter import PROTOCOL_KIND_CODES, SESSION_STATE_CODES
from ketaclinic.interop.fhir.mappers.flag import FLAG_KIND_CODES
from ketaclinic.interop.fhir.mappers.medication_administration import ROUTE_CODES
from ketaclinic.interop.fhir.mappers.medication_statement import (
    MEDICATION_CLASS_CODES,
    TRIAL_OUTCOME_CODES,
)
from ketaclinic.services.consents import KIND_LABELS

Concepts = Callable[[], Iterable[tuple[str, str]]]


@dataclass(frozen=True)
class LocalSystem:
    url: str
    title: str
    concepts: Concepts | None  # None: codes the clinic writes itself (content "not-present")
    description: str

    @property
    def id(self) -> str:
        return self.url.rsplit("/", 1)[-1]


def _words(code: str) -> str:
    return code.replace("-", " ").replace("_", " ").capitalize()


def _enum(values: Iterable[str]) -> Concepts:
    return lambda: [(str(v), _words(str(v))) for v in values]


LOCAL_SYSTEMS: tuple[LocalSystem, ...] = (
    LocalSystem(CONDITION_CODES, "ketaclinic conditions",
                lambda: [(c.id.value, c.display) for c in conditions_file().conditions],
                "Indications, comorbidities and contraindicating conditions "
                "(clinical/data/conditions.yaml); ICD-10-CM is sent alongside where known."),
    LocalSystem(CONTACT_ROLE_CODES, "ketaclinic contact roles", _enum(ContactRole),
                "Who a related person is to the patient (escort, next of kin, GP, ...)."),
    LocalSystem(CONSENT_KIND_CODES, "ketaclinic consent kinds",
                lambda: [(k.value, label) for k, label in KIND_LABELS.items()],
                "The kinds of consent a clinic records."),
    LocalSystem(SYNTHETIC_TAG["system"], "ketaclinic tags", lambda: [("synthetic", "Synthetic")],
                "Marks demo records that describe no real person."),
    LocalSystem(TERM_CODES, "ketaclinic adverse-event terms",
                lambda: [(t.id, t.label) for t in preferred_terms().values()],
                "The curated preferred terms (clinical/data/adverse_event_terms.yaml)."),
    LocalSystem(MEDICATION_CLASS_CODES, "ketaclinic medication classes", _enum(MedicationClass),
                "Medication classes that interaction and eligibility rules refer to."),
    LocalSystem(TRIAL_OUTCOME_CODES, "ketaclinic antidepressant trial outcomes",
                _enum(get_args(TrialOutcome)), "How an antidepressant trial ended."),
    LocalSystem(PROTOCOL_CODES, "ketaclinic protocols",
                lambda: [(p.id, p.name) for p in all_protocols()],
                "Treatment protocols (clinical/data/protocols)."),
    LocalSystem(PHASE_CODES, "ketaclinic plan phases",
                _enum(get_args(Phase.model_fields["kind"].annotation)),
                "Induction and maintenance."),
    LocalSystem(PROTOCOL_KIND_CODES, "ketaclinic protocol kinds", _enum(ProtocolKind),
                "Kinds of protocol a supervised session follows."),
    LocalSystem(SESSION_STATE_CODES, "ketaclinic session states", _enum(SessionState),
                "States of a supervised session."),
    LocalSystem(ROUTE_CODES, "ketaclinic routes", _enum(Route),
                "Routes of ketamine or esketamine administration."),
    LocalSystem(FLAG_KIND_CODES, "ketaclinic safety flags", _enum(FlagKind),
                "Safety flags raised on a record."),
    LocalSystem(CLINIC_OBSERVATION_CODES, "Clinic measurement codes", None,
                "Codes a clinic gives its own measurements (a laboratory value, a dipstick "
                "score) when no LOINC code was recorded; the clinic defines them."),
    LocalSystem(AUDIT_ACTION_CODES, "ketaclinic audit actions", None,
                "The action names of the audit trail (e.g. patient.chart.read); the list grows "
                "with the software, so it is not enumerated here."),
)  # fmt: skip


def local_code_system(system: LocalSystem) -> CodeSystem:
    resource: dict[str, Any] = {
        "resourceType": "CodeSystem",
        "id": system.id,
        "url": system.url,
        "name": "".join(part.capitalize() for part in system.id.split("-")),
        "title": system.title,
        "status": "active",
        "description": system.description,
        "caseSensitive": True,
    }
    if system.concepts is None:
        resource["content"] = "not-present"
    else:
        concepts = sorted(dict(system.concepts()).items())
        resource["content"] = "complete"
        resource["count"] = len(concepts)
        resource["concept"] = [{"code": code, "display": display} for code, display in concepts]
    return CodeSystem.model_validate(resource)


def all_code_systems() -> list[CodeSystem]:
    """The ketaclinic instrument/measurement CodeSystem, then every other local one."""
    return [
        CodeSystem.model_validate(code_system_resource()),
        *(local_code_system(s) for s in LOCAL_SYSTEMS),
    ]
