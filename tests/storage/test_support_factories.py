"""The shared test factory builds what it promises, through the services."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ketaclinic.clinical.vocabulary import MedicationClass
from ketaclinic.services.context import RequestContext
from ketaclinic.services.patients import get_patient_summary
from support.factories import make_patient


def test_make_patient_builds_a_treatment_resistant_patient(
    db: Session, ctx: RequestContext
) -> None:
    patient_id = make_patient(
        db,
        ctx,
        conditions=["mdd", "trd"],
        failed_trials=2,
        medications=[{"drug_name": "lorazepam", "dose_amount": 1, "dose_unit": "mg"}],
    )
    summary = get_patient_summary(db, ctx, patient_id)
    assert summary.adequate_failed_trials == 2
    assert [d.condition.value for d in summary.diagnoses] == ["mdd", "trd"]
    assert MedicationClass.BENZODIAZEPINE in summary.current_medication_classes
    assert summary.escort is not None
    # 78 kg / 1.72 m^2 = 26.37
    assert round(summary.bmi_kg_per_m2 or 0, 2) == 26.37
