"""What screening knows about a patient: every fact optional, ``None`` meaning *not known*.

The JSON file of ``ketaclinic screen`` and, later, the database record both map onto this one
model. A fact that is missing is reported as missing by the rules; it is never read as absent.
Lists follow the same rule: ``current_medications: null`` means the medicines were not
reconciled, ``[]`` means the patient takes none.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ketaclinic.clinical.medications import lookup_drug
from ketaclinic.clinical.treatment_resistance import AntidepressantTrial
from ketaclinic.clinical.vitals import blood_pressure_problem
from ketaclinic.clinical.vocabulary import ConditionId, ConditionStatus, MedicationClass, Sex


class Treatment(StrEnum):
    """The rule set to apply: one per product and route family."""

    RACEMIC_IV_IM = "racemic-iv-im"
    RACEMIC_ORAL_SUBLINGUAL = "racemic-oral-sublingual"
    ESKETAMINE_INTRANASAL = "esketamine-intranasal"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Diagnosis(_Strict):
    condition: ConditionId
    status: ConditionStatus = ConditionStatus.ACTIVE


class CurrentMedication(_Strict):
    name: str | None = Field(default=None, min_length=1)
    classes: tuple[MedicationClass, ...] | None = Field(
        default=None, description="Classes stated directly; otherwise looked up from the name."
    )

    @model_validator(mode="after")
    def _named_or_classified(self) -> CurrentMedication:
        if self.name is None and self.classes is None:
            raise ValueError("a current medication needs a name or its classes")
        return self

    def resolved_classes(self) -> frozenset[MedicationClass] | None:
        """Stated classes, else the catalogue's; ``None`` when the drug cannot be classified."""
        if self.classes is not None:
            return frozenset(self.classes)
        drug = lookup_drug(self.name or "")
        return drug.classes if drug is not None else None


class BloodPressure(_Strict):
    systolic_mmhg: int = Field(ge=50, le=300)
    diastolic_mmhg: int = Field(ge=20, le=200)

    @model_validator(mode="after")
    def _systolic_above_diastolic(self) -> BloodPressure:
        problem = blood_pressure_problem(self.systolic_mmhg, self.diastolic_mmhg)
        if problem is not None:
            raise ValueError(problem)
        return self


class MeasuredOn(_Strict):
    """When the dated facts were measured (or answered), to judge whether they are too old."""

    baseline_bp: date | None = None
    weight_kg: date | None = None
    phq9_item9: date | None = None
    cssrs_screener_risk: date | None = None


class ScreeningInput(_Strict):
    treatment: Treatment
    patient_ref: str | None = Field(default=None, description="Free reference, echoed back.")
    age_years: int | None = Field(default=None, ge=0, le=120)
    sex: Sex | None = None
    weight_kg: float | None = Field(default=None, gt=0)
    height_cm: float | None = Field(default=None, gt=0)
    pregnant: bool | None = None
    breastfeeding: bool | None = None
    diagnoses: tuple[Diagnosis, ...] = ()
    # Shorthand for diagnoses with status ruled-out: asked about and found absent.
    ruled_out: tuple[ConditionId, ...] = ()
    antidepressant_trials: tuple[AntidepressantTrial, ...] | None = None
    current_medications: tuple[CurrentMedication, ...] | None = None
    hypersensitivity_to_ketamine: bool | None = Field(
        default=None, description="Known hypersensitivity to ketamine, esketamine or excipients."
    )
    baseline_bp: BloodPressure | None = None
    phq9_item9: int | None = Field(default=None, ge=0, le=3)
    cssrs_screener_risk: Literal["low", "moderate", "high"] | None = None
    urinary_symptoms: bool | None = None
    sleep_apnoea_risk: Literal["low", "intermediate", "high"] | None = Field(
        default=None, description="STOP-BANG risk category."
    )
    hepatic_impairment: Literal["none", "mild", "moderate", "severe"] | None = None
    hypertension_uncontrolled: bool | None = Field(
        default=None,
        description="The clinician judges blood pressure not controlled (true) or controlled.",
    )
    # With both dates, a measurement older than the clinic policy allows counts as missing.
    screened_on: date | None = None
    measured_on: MeasuredOn | None = None

    @model_validator(mode="after")
    def _no_contradictions(self) -> ScreeningInput:
        stated = {d.condition for d in self.diagnoses if d.status is not ConditionStatus.RULED_OUT}
        clash = stated & set(self.ruled_out)
        ruled_out_psychosis = ConditionId.PSYCHOSIS in self.ruled_out or any(
            d.condition is ConditionId.PSYCHOSIS and d.status is ConditionStatus.RULED_OUT
            for d in self.diagnoses
        )
        if ruled_out_psychosis and ConditionId.MAJOR_DEPRESSION_PSYCHOTIC in stated:
            clash.add(ConditionId.MAJOR_DEPRESSION_PSYCHOTIC)
        if clash:
            names = ", ".join(sorted(clash))
            raise ValueError(f"conditions both diagnosed and ruled out: {names}")
        return self

    def condition_statuses(self) -> dict[ConditionId, set[ConditionStatus]]:
        """Each condition the record mentions, with every status recorded for it."""
        statuses: dict[ConditionId, set[ConditionStatus]] = {}
        for diagnosis in self.diagnoses:
            statuses.setdefault(diagnosis.condition, set()).add(diagnosis.status)
        for condition in self.ruled_out:
            statuses.setdefault(condition, set()).add(ConditionStatus.RULED_OUT)
        # Psychosis ruled out also rules out psychotic features of depression.
        if statuses.get(ConditionId.PSYCHOSIS) == {ConditionStatus.RULED_OUT}:
            statuses.setdefault(ConditionId.MAJOR_DEPRESSION_PSYCHOTIC, {ConditionStatus.RULED_OUT})
        return statuses
