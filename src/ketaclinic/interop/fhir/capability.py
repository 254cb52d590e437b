"""The server's CapabilityStatement (``GET /fhir/metadata``): read, search with the parameters
that work on each type, ``Patient/$everything``, paging; nothing else."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from ketaclinic import __version__
from ketaclinic.interop.fhir.search_params import DATE_PATHS, supported
from ketaclinic.interop.fhir.server import DEFINITIONS, MAX_PAGE_SIZE, SEARCHABLE

_PARAMETER_DOCS = {
    "patient": "Patient/<id> (for Patient: that patient itself)",
    "code": "token, system|code; comma = or, repeated = and",
}
EVERYTHING = "http://hl7.org/fhir/OperationDefinition/Patient-everything"


def _resource(resource_type: str) -> dict[str, Any]:
    """What works on one type: read and search, the parameters that match something."""
    parameters = {} if resource_type in DEFINITIONS else supported(resource_type)
    entry: dict[str, Any] = {
        "type": resource_type,
        "interaction": [{"code": "read"}, {"code": "search-type"}],
    }
    documented = []
    for name, kind in parameters.items():
        param = {"name": name, "type": kind}
        if name == "date":
            param["documentation"] = (
                f"{' or '.join(DATE_PATHS[resource_type])}; ranges by precision, "
                "prefixes eq ne gt lt ge le"
            )
        elif name in _PARAMETER_DOCS:
            param["documentation"] = _PARAMETER_DOCS[name]
        documented.append(param)
    if documented:
        entry["searchParam"] = documented
    if resource_type == "Patient":
        entry["operation"] = [{"name": "everything", "definition": EVERYTHING}]
    return entry


def capability_statement(base_url: str, now: datetime) -> CapabilityStatement:
    resources = [_resource(resource_type) for resource_type in SEARCHABLE]
    return CapabilityStatement.model_validate(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": now.isoformat(),
            "kind": "instance",
            "software": {"name": "ketaclinic", "version": __version__},
            "implementation": {"description": "ketaclinic read-only FHIR API", "url": base_url},
            # R4B classes, R4 wire format: the resources used are identical in R4 and R4B.
            "fhirVersion": "4.0.1",
            "format": ["application/fhir+json", "json"],
            "rest": [
                {
                    "mode": "server",
                    "documentation": "Read-only. Sign in to the clinic web app first; "
                    "researchers see research-consented patients de-identified, patients "
                    "their own record only.",
                    "resource": resources,
                    "searchParam": [
                        {
                            "name": "_count",
                            "type": "number",
                            "documentation": f"page size, 0 to {MAX_PAGE_SIZE} (0: the total only)",
                        },
                        {
                            "name": "_offset",
                            "type": "number",
                            "documentation": "where the page starts (the next link carries it)",
                        },
                    ],
                }
            ],
        }
    )
