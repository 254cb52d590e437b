"""Reading what another system sends: one resource, a Bundle, an NDJSON file, or a Bulk Data
export folder (one NDJSON file per type), and matching its Patient resources to this clinic.

A QuestionnaireResponse or Observation names its patient by ``subject``: an identifier, or a
reference to a Patient resource sent alongside (in the same Bundle, by ``fullUrl`` or
``Patient/<id>``; in the same NDJSON set). Such a Patient matches a patient of this clinic by an
identifier whose system is ketaclinic's MRN system or one the clinic configured as carrying its
clinic numbers (``KETACLINIC_FHIR_MRN_SYSTEMS``), and whose value is a clinic number here.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ketaclinic.errors import InvalidInput
from ketaclinic.interop.fhir.codes import MRN_SYSTEM
from ketaclinic.services import patients
from ketaclinic.storage.tables.patients import PatientRow


@dataclass(frozen=True)
class Incoming:
    where: str  # "line 3", "Observation.ndjson line 2, Bundle entry 4"
    resource: dict[str, Any]
    full_url: str | None = None


def refuse(where: str, reason: str) -> InvalidInput:
    return InvalidInput(f"{where}: {reason} Nothing from this file was imported.", field="file")


def _is_ndjson(text: str) -> bool:
    stripped = text.strip()
    return (
        stripped.startswith("{")
        and "\n" in stripped
        and stripped.splitlines()[0].rstrip().endswith("}")
    )


def _read_file(path: Path, prefix: str) -> list[Incoming]:
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise InvalidInput(f"{path.name} is empty: nothing to import.", field="file")
    if _is_ndjson(text):
        lines = [(f"{prefix}line {n}", line) for n, line in enumerate(text.splitlines(), 1)]
    else:
        lines = [(prefix.strip() or "file", text.strip())]
    found: list[Incoming] = []
    for where, raw in lines:
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise refuse(where, f"not JSON ({exc.msg}).") from None
        if not isinstance(value, dict):
            raise refuse(where, "not a FHIR resource (expected a JSON object).")
        if value.get("resourceType") == "Bundle":
            for n, entry in enumerate(value.get("entry") or [], 1):
                found.append(
                    Incoming(f"{where}, Bundle entry {n}", entry.get("resource") or {},
                             entry.get("fullUrl"))
                )  # fmt: skip
        else:
            found.append(Incoming(where, value))
    return found


# In a Bulk Data folder (one ``<Type>.ndjson`` per type) only these files are read; the others
# (Condition.ndjson, ...) hold nothing ketaclinic imports and are reported as left out.
BULK_TYPES = ("Patient", "QuestionnaireResponse", "Observation")


def read_incoming(path: Path) -> tuple[list[Incoming], list[str]]:
    """Every resource of a file, or of a folder's ``*.ndjson`` / ``*.json`` files; and the
    files of a Bulk Data folder left out because their type is not imported."""
    if not path.is_dir():
        return _read_file(path, ""), []
    files = sorted(p for p in path.iterdir() if p.suffix in (".ndjson", ".json"))
    files = [p for p in files if p.name != "manifest.json"]  # Bulk Data's index, not data
    if not files:
        raise InvalidInput(f"{path} holds no .ndjson or .json file to import.", field="file")
    found: list[Incoming] = []
    left_out: list[str] = []
    for file in files:
        if file.suffix == ".ndjson" and file.stem not in BULK_TYPES:
            left_out.append(file.name)
            continue
        found += _read_file(file, f"{file.name} ")
    return found, left_out


def _clinic_number(
    db: Session, identifiers: list[dict[str, Any]], systems: Collection[str]
) -> str | None:
    for identifier in identifiers:
        if identifier.get("system") in systems and identifier.get("value"):
            row = patients.find_patient_by_mrn(db, str(identifier["value"]))
            if row is not None:
                return row.id
    return None


@dataclass
class PatientIndex:
    """The Patient resources of the set: each reference to one -> the clinic patient it is, or
    why none is."""

    systems: tuple[str, ...]
    matched: dict[str, str] = field(default_factory=dict)
    unmatched: dict[str, str] = field(default_factory=dict)

    @property
    def patients_matched(self) -> int:
        return len(set(self.matched.values()))

    def add(self, db: Session, incoming: Incoming) -> None:
        resource = incoming.resource
        identifiers = resource.get("identifier") or []
        keys = [f"Patient/{resource.get('id')}"] + (
            [incoming.full_url] if incoming.full_url else []
        )
        found = _clinic_number(db, identifiers, self.systems)
        for key in keys:
            if found is not None:
                self.matched[key] = found
            else:
                shown = ", ".join(f"{i.get('system')}|{i.get('value')}" for i in identifiers)
                self.unmatched[key] = (
                    f"Patient {resource.get('id')} ({shown or 'no identifier'}) matches no "
                    f"patient of this clinic by the identifier systems {', '.join(self.systems)}"
                )

    def subject(self, db: Session, subject: dict[str, Any] | None) -> str:
        """The clinic patient id; AnswerRefused-like InvalidInput message text on failure."""
        subject = subject or {}
        identifier = subject.get("identifier") or {}
        if identifier.get("system") in self.systems and identifier.get("value"):
            found = _clinic_number(db, [identifier], self.systems)
            if found is not None:
                return found
            raise LookupError(f"no patient has the clinic number {identifier['value']}.")
        reference = str(subject.get("reference") or "")
        # An absolute reference (https://other.example/fhir/Patient/7) matches "Patient/7" too.
        tail = "/".join(reference.rsplit("/", 2)[-2:]) if reference.count("/") > 1 else reference
        for key in (reference, tail):
            if key in self.matched:
                return self.matched[key]
            if key in self.unmatched:
                raise LookupError(self.unmatched[key] + ".")
        if reference.startswith("Patient/") and db.get(PatientRow, reference[8:]) is not None:
            return reference[8:]
        raise LookupError(
            "the subject names no patient of this clinic; give subject.identifier with one of "
            f"the systems {', '.join(self.systems)} and the clinic number, a reference to a "
            "Patient resource sent in the same file or set that carries such an identifier, or "
            "subject.reference Patient/<ketaclinic id>."
        )


def patient_index(
    db: Session, incoming: list[Incoming], extra_systems: Collection[str]
) -> PatientIndex:
    index = PatientIndex((MRN_SYSTEM, *[s for s in extra_systems if s != MRN_SYSTEM]))
    for item in incoming:
        if item.resource.get("resourceType") == "Patient":
            index.add(db, item)
    return index
