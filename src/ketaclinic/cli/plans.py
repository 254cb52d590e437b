"""``ketaclinic plan show PATIENT``: a patient's screenings and treatment plans as JSON.

PATIENT is the clinic number (MRN) or the patient id. The read is recorded in the audit trail
like any other read of patient data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from ketaclinic.errors import KetaclinicError, NotFound

from ._database import migrated_session_factory
from ._output import fail, print_json


def _screening_json(record: Any) -> dict[str, Any]:
    decision = record.decision
    return {
        "screening_id": record.screening_id,
        "treatment": record.treatment.value,
        "decision": decision.decision.value,
        "summary": decision.summary,
        "screened_at": record.screened_at.isoformat(),
        "screened_by": record.screened_by,
        "supersedes": record.supersedes_id,
        "blocking_rule_ids": decision.blocking_rule_ids,
        "overrides": [o.model_dump(mode="json") for o in decision.overrides],
        "findings": [
            {"rule_id": f.rule_id, "class": f.rule_class.value, "status": f.status}
            for f in decision.findings
            if f.status != "met"
        ],
    }


def _plan_json(plan: Any) -> dict[str, Any]:
    dose = plan.first_dose
    return {
        "plan_id": plan.plan_id,
        "protocol": plan.protocol_id,
        "version": plan.version,
        "previous_version": plan.previous_version_id,
        "status": plan.status,
        "prescriber": plan.prescriber,
        "signed_by": plan.signed_by,
        "signed_at": None if plan.signed_at is None else plan.signed_at.isoformat(),
        "amendment_reason": plan.amendment_reason,
        "stopped_reason": plan.stopped_reason,
        "start_date": plan.start_date.isoformat(),
        "maintenance_option": plan.maintenance_option,
        "first_dose": {
            "dose_mg": dose.dose_mg,
            "dose_mg_per_kg": dose.dose_mg_per_kg,
            "dosing_weight_kg": dose.dosing_weight_kg,
            "volume_ml": dose.volume_ml,
            "rate_ml_per_h": dose.rate_ml_per_h,
            "devices": dose.devices,
            "warnings": list(dose.warnings),
        },
        "dose_overrides": [
            {
                "limit_ids": list(o.limit_ids),
                "reason": o.reason,
                "prescriber": o.prescriber,
                "overridden_at": o.overridden_at.isoformat(),
            }
            for o in plan.dose_overrides
        ],
        "sessions": [
            {
                "sequence": s.sequence,
                "date": s.scheduled_on.isoformat(),
                "weekday": s.scheduled_on.strftime("%a"),
                "phase": s.phase_id,
                "number_in_phase": s.number_in_phase,
                "status": s.status,
                "replaces_sequence": s.replaces_sequence,
                "review": s.review_action,
            }
            for s in plan.sessions
        ],
    }


def register(app: typer.Typer) -> None:
    plan_app = typer.Typer(help="Screenings and treatment plans.", no_args_is_help=True)

    @plan_app.command("show")
    def show(
        patient: Annotated[str, typer.Argument(help="Clinic number (MRN) or patient id.")],
    ) -> None:
        """Print the patient's screenings and every version of every plan as JSON."""
        from ketaclinic.services.context import SYSTEM, RequestContext
        from ketaclinic.services.patients import find_patient_by_mrn
        from ketaclinic.services.planning import list_plans
        from ketaclinic.services.screening import list_screenings
        from ketaclinic.storage.database import transaction
        from ketaclinic.storage.tables.patients import PatientRow

        try:
            ctx = RequestContext(actor=SYSTEM, now=datetime.now(UTC))
            with transaction(migrated_session_factory()) as db:
                row = find_patient_by_mrn(db, patient) or db.get(PatientRow, patient)
                if row is None:
                    raise NotFound(
                        f"No patient with clinic number or id '{patient}'.", field="patient"
                    )
                payload = {
                    "patient_id": row.id,
                    "mrn": row.mrn,
                    "synthetic": row.is_synthetic,
                    "screenings": [_screening_json(s) for s in list_screenings(db, ctx, row.id)],
                    "plans": [_plan_json(p) for p in list_plans(db, ctx, row.id)],
                }
        except KetaclinicError as error:
            fail(error)
        print_json(payload)

    app.add_typer(plan_app, name="plan")
