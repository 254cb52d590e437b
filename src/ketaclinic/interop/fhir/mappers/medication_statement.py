"""MedicationStatement: current and past medications (the PMF concomitant-medication section)
and past antidepressant trials (the treatment-resistance history)."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.resource import Resource

from ketaclinic.interop.fhir.codes import BASE
from ketaclinic.interop.fhir.mappers._registry import day, patient_ref, register
from ketaclinic.interop.fhir.source import PatientData

MEDICATION_CLASS_CODES = f"{BASE}/CodeSystem/medication-class"
TRIAL_OUTCOME_CODES = f"{BASE}/CodeSystem/antidepressant-trial-outcome"


@register("MedicationStatement", needs=("medications", "trials"))
def medication_statements(data: PatientData) -> list[Resource]:
    found: list[Resource] = []
    for medication in data.medications:
        resource: dict[str, Any] = {
            "resourceType": "MedicationStatement",
            "id": medication.id,
            "subject": patient_ref(data),
            # Drug names are free text today; RxNorm coding waits for a verified drug catalogue.
            "medicationCodeableConcept": {"text": medication.drug_name},
            "status": "completed" if medication.stopped_on else "active",
        }
        classes = [c for c in medication.classes.split(",") if c]
        if classes:
            resource["category"] = {
                "coding": [{"system": MEDICATION_CLASS_CODES, "code": c} for c in classes]
            }
        period = {
            key: day(value)
            for key, value in (("start", medication.started_on), ("end", medication.stopped_on))
            if value is not None
        }
        if period:
            resource["effectivePeriod"] = period
        dosage_text = " ".join(
            str(part)
            for part in (medication.dose_amount, medication.dose_unit, medication.frequency)
            if part is not None
        )
        if dosage_text:
            resource["dosage"] = [{"text": dosage_text}]
        found.append(MedicationStatement.model_validate(resource))
    for trial in data.trials:
        trial_resource: dict[str, Any] = {
            "resourceType": "MedicationStatement",
            "id": trial.id,
            "subject": patient_ref(data),
            "medicationCodeableConcept": {"text": trial.drug_name},
            "status": "completed",
            "category": {"coding": [{"system": MEDICATION_CLASS_CODES, "code": "antidepressant"}]},
            "reasonCode": [{"coding": [{"system": TRIAL_OUTCOME_CODES, "code": trial.outcome}]}],
        }
        if trial.started_on is not None:
            trial_resource["effectivePeriod"] = {"start": day(trial.started_on)}
        if trial.dose_mg_per_day is not None:
            trial_resource["dosage"] = [
                {
                    "text": f"{trial.dose_mg_per_day:g} mg/day",
                    "doseAndRate": [
                        {
                            "doseQuantity": {
                                "value": trial.dose_mg_per_day,
                                "unit": "mg/d",
                                "system": "http://unitsofmeasure.org",
                                "code": "mg/d",
                            }
                        }
                    ],
                }
            ]
        found.append(MedicationStatement.model_validate(trial_resource))
    return found
