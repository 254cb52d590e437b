"""The server's CapabilityStatement (``GET /fhir/metadata``): read and search, nothing else."""

from __future__ import annotations

from datetime import datetime

from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from ketaclinic import __version__
from ketaclinic.interop.fhir.server import SEARCH_PARAMETERS, SEARCHABLE


def capability_statement(base_url: str, now: datetime) -> CapabilityStatement:
    resources = [
        {
            "type": resource_type,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [
                {"name": name, "type": kind}
                for name, kind in SEARCH_PARAMETERS.items()
                if name != "patient" or resource_type != "Patient"
            ],
        }
        for resource_type in SEARCHABLE
    ]
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
                }
            ],
        }
    )
