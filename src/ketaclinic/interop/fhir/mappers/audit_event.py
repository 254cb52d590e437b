"""AuditEvent: the audit trail entries about the patient (who did what to the record, when).

Identified exports only: an entry names staff and network addresses, so de-identification drops
the whole trail (``deidentify`` leaves ``audit_events`` empty).
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.resource import Resource

from ketaclinic.interop.fhir.codes import BASE
from ketaclinic.interop.fhir.mappers._registry import instant, patient_ref, register
from ketaclinic.interop.fhir.source import PatientData

AUDIT_ACTION_CODES = f"{BASE}/CodeSystem/audit-action"
# DICOM "Patient Record" audit event id (DCM 110110), the R4 AuditEvent.type example for a record.
_TYPE = {
    "system": "http://dicom.nema.org/resources/ontology/DCM",
    "code": "110110",
    "display": "Patient Record",
}


def _crude(action: str) -> str:
    """FHIR's C/R/U/D/E from the dotted ketaclinic action (last word decides)."""
    verb = action.rsplit(".", 1)[-1]
    if verb in ("read", "search", "view", "export"):
        return "R"
    if verb in ("record", "register", "add", "create", "import"):
        return "C"
    if verb in ("update", "withdraw", "change", "amend"):
        return "U"
    if verb in ("delete", "remove"):
        return "D"
    return "E"


@register("AuditEvent", needs=("audit_events",))
def audit_events(data: PatientData) -> list[Resource]:
    found: list[Resource] = []
    for entry in data.audit_events:
        agent: dict[str, Any] = {
            "type": {"text": entry.actor_role},
            "who": {"display": entry.actor_name},
            "requestor": True,
        }
        if entry.ip_address:
            agent["network"] = {"address": entry.ip_address, "type": "2"}
        entity: list[dict[str, Any]] = [{"what": patient_ref(data)}]
        if entry.entity_id:
            entity.append(
                {
                    "what": {
                        "identifier": {
                            "system": f"{BASE}/sid/{entry.entity_type}",
                            "value": entry.entity_id,
                        }
                    }
                }
            )
        resource: dict[str, Any] = {
            "resourceType": "AuditEvent",
            "id": f"audit-{entry.sequence}",
            "type": _TYPE,
            "subtype": [{"system": AUDIT_ACTION_CODES, "code": entry.action}],
            "action": _crude(entry.action),
            "recorded": instant(entry.occurred_at),
            "agent": [agent],
            # The hash chain makes the trail tamper-evident; the entry hash identifies this link.
            "source": {"observer": {"display": "ketaclinic"}, "site": entry.entry_hash},
            "entity": entity,
        }
        found.append(AuditEvent.model_validate(resource))
    return found
