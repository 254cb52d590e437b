"""FHIR Bulk Data export (NDJSON, one file per resource type) and the ``$everything`` Bundle.

Every reference in an export resolves inside it: the mappers only point at the patient's own
resources and at the Questionnaire definitions, written alongside (``Questionnaire.ndjson`` holds
every instrument a response uses, ``CodeSystem.ndjson`` the local codes).
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.resource import Resource
from sqlalchemy.orm import Session

from ketaclinic.interop.deidentify import Deidentifier
from ketaclinic.interop.fhir.code_systems import all_code_systems
from ketaclinic.interop.fhir.mappers import parts_for, patient_resources
from ketaclinic.interop.fhir.questionnaire import questionnaire
from ketaclinic.interop.fhir.source import PatientData, load_patient_data

Progress = Callable[[int], None]


@dataclass
class ExportSummary:
    out_dir: Path
    patients: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


def resources_for(
    db: Session,
    patient_id: str,
    deidentifier: Deidentifier | None = None,
    resource_type: str | None = None,
) -> tuple[PatientData, list[Resource]]:
    """One patient's resources; with ``resource_type``, only those, from only the records and
    mappers they are built from."""
    data = load_patient_data(db, patient_id, parts_for(resource_type))
    if deidentifier is not None:
        data = deidentifier.patient(data)
    return data, patient_resources(data, resource_type)


def definitions_for(instrument_ids: set[str]) -> list[Resource]:
    """The Questionnaires of these instruments and every local CodeSystem."""
    found: list[Resource] = [questionnaire(i) for i in sorted(instrument_ids)]
    found.extend(all_code_systems())
    return found


def to_json(resource: Resource) -> str:
    return resource.model_dump_json(exclude_none=True)


def export_ndjson(
    db: Session,
    out_dir: Path,
    patient_ids: Sequence[str],
    *,
    deidentifier: Deidentifier | None = None,
    transaction_time: datetime,
    progress: Progress | None = None,
) -> ExportSummary:
    """Write ``<Type>.ndjson`` files and a Bulk Data style ``manifest.json`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = ExportSummary(out_dir)
    handles: dict[str, Any] = {}
    counts: dict[str, int] = defaultdict(int)
    instruments: set[str] = set()

    def write(resource: Resource) -> None:
        kind = resource.get_resource_type()
        if kind not in handles:
            handles[kind] = (out_dir / f"{kind}.ndjson").open("w", encoding="utf-8")
        handles[kind].write(to_json(resource) + "\n")
        counts[kind] += 1

    try:
        for patient_id in patient_ids:
            data, resources = resources_for(db, patient_id, deidentifier)
            instruments.update(r.instrument_id for r in data.responses)
            for resource in resources:
                write(resource)
            summary.patients += 1
            if progress is not None:
                progress(1)
        for resource in definitions_for(instruments):
            write(resource)
    finally:
        for handle in handles.values():
            handle.close()
    summary.counts = dict(sorted(counts.items()))
    summary.files = [out_dir / f"{kind}.ndjson" for kind in summary.counts]
    manifest = {
        "transactionTime": transaction_time.isoformat(),
        "request": "ketaclinic export fhir" + (" --deidentified" if deidentifier else ""),
        "requiresAccessToken": False,
        "output": [
            {"type": kind, "url": f"{kind}.ndjson", "count": count}
            for kind, count in summary.counts.items()
        ],
        "error": [],
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return summary


# Namespace of the urn:uuid fullUrls of a standalone $everything Bundle.
_BUNDLE_NAMESPACE = uuid.UUID("0b8a4b0e-7c44-5f0e-9d6a-3f1e2c5d7a90")


def _rewritten(value: Any, urns: dict[str, str]) -> Any:
    """``value`` with every ``reference`` to a resource of the Bundle replaced by its urn."""
    if isinstance(value, dict):
        return {
            key: urns.get(item, item)
            if key == "reference" and isinstance(item, str)
            else _rewritten(item, urns)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_rewritten(item, urns) for item in value]
    return value


def patient_bundle(
    db: Session,
    patient_id: str,
    *,
    deidentifier: Deidentifier | None = None,
    timestamp: datetime,
) -> Bundle:
    """Everything about one patient (``Patient/$everything`` style), definitions included.

    A file stands alone, with no server base to resolve relative references against, so every
    entry gets a ``urn:uuid`` fullUrl and the references inside point at those (FHIR's rule for
    resolving references in a Bundle): a reader finds each target in the file itself."""
    data, resources = resources_for(db, patient_id, deidentifier)
    resources.extend(definitions_for({r.instrument_id for r in data.responses}))
    urns = {
        f"{r.get_resource_type()}/{r.id}": "urn:uuid:"
        + str(uuid.uuid5(_BUNDLE_NAMESPACE, f"{r.get_resource_type()}/{r.id}"))
        for r in resources
    }
    entries = [
        {
            "fullUrl": urns[f"{r.get_resource_type()}/{r.id}"],
            "resource": _rewritten(r.model_dump(mode="json", exclude_none=True), urns),
            "search": {"mode": "match" if r.get_resource_type() == "Patient" else "include"},
        }
        for r in resources
    ]
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "timestamp": timestamp.isoformat(),
            "total": 1,
            "entry": entries,
        }
    )
