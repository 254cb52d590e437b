"""CarePlan: a treatment plan (protocol, start, status) with its calendar of sessions as activities.

Superseded versions are left out: the export carries the plan as it stands, whose version number
and amendment history stay in ketaclinic.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.resource import Resource

from ketaclinic.interop.fhir.codes import BASE
from ketaclinic.interop.fhir.mappers._registry import day, patient_ref, register
from ketaclinic.interop.fhir.source import PatientData

PROTOCOL_CODES = f"{BASE}/CodeSystem/protocol"
PHASE_CODES = f"{BASE}/CodeSystem/plan-phase"
# ketaclinic plan status -> FHIR R4 CarePlan.status (a stopped plan is "revoked" in R4).
_PLAN_STATUS = {
    "draft": "draft",
    "signed": "active",
    "completed": "completed",
    "stopped": "revoked",
}
# ketaclinic plan-session status -> CarePlan.activity.detail.status.
_SESSION_STATUS = {"planned": "scheduled", "completed": "completed", "cancelled": "cancelled"}


@register("CarePlan", needs=("plans",))
def care_plans(data: PatientData) -> list[Resource]:
    found: list[Resource] = []
    for plan in data.plans:
        if plan.status == "superseded":
            continue
        activities = [
            {
                "detail": {
                    "code": {
                        "coding": [{"system": PHASE_CODES, "code": s.phase_kind}],
                        "text": f"{s.phase_id} session {s.number_in_phase}",
                    },
                    "status": _SESSION_STATUS.get(s.status, "unknown"),
                    "scheduledString": day(s.scheduled_on),
                }
            }
            for s in sorted(data.plan_sessions.get(plan.id, []), key=lambda s: s.sequence)
        ]
        resource: dict[str, Any] = {
            "resourceType": "CarePlan",
            "id": plan.id,
            "status": _PLAN_STATUS.get(plan.status, "unknown"),
            "intent": "plan",
            "category": [{"coding": [{"system": PROTOCOL_CODES, "code": plan.protocol_id}]}],
            "title": f"{plan.protocol_id} (version {plan.version})",
            "subject": patient_ref(data),
            "period": {"start": day(plan.start_date)},
        }
        if activities:
            resource["activity"] = activities
        found.append(CarePlan.model_validate(resource))
    return found
