"""The patient record as the clinical core sees it: plain validated values, no database.

Services turn form input into these models (bad input becomes an InvalidInput naming the field),
store them, and read them back into a :class:`PatientSummary`. Conditions use the shared
ConditionId vocabulary, with display names and codes from ``clinical/data/conditions.yaml``;
medication classes come from the drug catalogue; treatment resistance is derived from the trials by
``ketaclinic.clinical.treatment_resistance``, never typed in.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ketaclinic.clinical.knowledge import Source, load_knowledge
from ketaclinic.clinical.medications import lookup_drug
from ketaclinic.clinical.treatment_resistance import AntidepressantTrial
from ketaclinic.clinical.vocabulary import ConditionId, ConditionStatus, MedicationClass, Sex
from ketaclinic.errors import InvalidInput

ModelT = TypeVar("ModelT", bound=BaseModel)

# Oldest documented human lifespans are ~122 years; older is a typo in the date of birth.
MAX_AGE_YEARS = 120
# Catches the usual slips (no @, spaces); whether the address works is for the mail server to say.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def parse(model: type[ModelT], data: object) -> ModelT:
    """Validate ``data`` as ``model``; a failure becomes InvalidInput naming each field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        first_field: str | None = None
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"])
            first_field = first_field or field or None
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{field}: {message}" if field else message)
        raise InvalidInput("; ".join(problems), field=first_field) from None


# --- identity and contacts -------------------------------------------------------------------


class Identity(_Record):
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    preferred_name: str | None = Field(default=None, max_length=100)
    date_of_birth: date
    sex: Sex
    gender_identity: str | None = Field(default=None, max_length=60)

    def age_years(self, on: date) -> int:
        return age_years(self.date_of_birth, on)

    def check_date_of_birth(self, today: date) -> None:
        """Refuse a birth date in the future or implausibly long ago (time passed in, pure)."""
        if self.date_of_birth > today:
            raise InvalidInput(
                f"Date of birth {self.date_of_birth.isoformat()} is in the future.",
                field="date_of_birth",
            )
        if age_years(self.date_of_birth, today) > MAX_AGE_YEARS:
            raise InvalidInput(
                f"Date of birth {self.date_of_birth.isoformat()} gives an age over "
                f"{MAX_AGE_YEARS}: check the year.",
                field="date_of_birth",
            )


class ContactDetails(_Record):
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=200, pattern=EMAIL_PATTERN)
    address_line: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=100)
    postal_code: str | None = Field(default=None, max_length=20)
    country: str | None = Field(
        default=None, pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2"
    )


class ContactRole(StrEnum):
    # The escort who takes the patient home: nobody drives after ketamine until the next day.
    ESCORT = "escort"
    TRANSPORT = "transport"
    EMERGENCY = "emergency"
    NEXT_OF_KIN = "next-of-kin"
    GP = "gp"


class Contact(_Record):
    role: ContactRole
    name: str = Field(min_length=1, max_length=200)
    relationship: str | None = Field(default=None, max_length=60)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=200, pattern=EMAIL_PATTERN)
    notes: str | None = None

    @model_validator(mode="after")
    def _reachable(self) -> Contact:
        if self.role in (ContactRole.ESCORT, ContactRole.TRANSPORT, ContactRole.EMERGENCY) and not (
            self.phone or self.email
        ):
            raise ValueError(f"the {self.role.value} contact needs a phone number or an email")
        return self


# --- diagnoses -------------------------------------------------------------------------------


class ConditionCategory(StrEnum):
    INDICATION = "indication"
    PSYCHIATRIC_HISTORY = "psychiatric-history"
    MEDICAL = "medical"
    REPRODUCTIVE = "reproductive"


class ConditionDefinition(_Record):
    id: ConditionId
    display: str
    category: ConditionCategory
    icd10cm: str | None = None
    snomed: str | None = None
    source: Source


class ConditionsFile(_Record):
    conditions: tuple[ConditionDefinition, ...]

    @model_validator(mode="after")
    def _every_condition_once(self) -> ConditionsFile:
        ids = [c.id for c in self.conditions]
        if sorted(ids) != sorted(ConditionId):
            raise ValueError("conditions.yaml must define every ConditionId exactly once")
        return self


def conditions_file() -> ConditionsFile:
    return load_knowledge("ketaclinic.clinical", "conditions.yaml", ConditionsFile)


def condition_definition(condition: ConditionId | str) -> ConditionDefinition:
    wanted = _condition_id(condition)
    return next(c for c in conditions_file().conditions if c.id == wanted)


def _condition_id(value: ConditionId | str) -> ConditionId:
    try:
        return ConditionId(value)
    except ValueError:
        allowed = ", ".join(c.value for c in ConditionId)
        raise InvalidInput(
            f"Unknown condition '{value}'. Use one of: {allowed}.", field="condition"
        ) from None


class Diagnosis(_Record):
    condition: ConditionId
    status: ConditionStatus = ConditionStatus.ACTIVE
    onset_date: date | None = None
    notes: str | None = None

    @property
    def definition(self) -> ConditionDefinition:
        return condition_definition(self.condition)


# --- medications and allergies ---------------------------------------------------------------


class Medication(_Record):
    drug_name: str = Field(min_length=1, max_length=120)
    dose_amount: float | None = Field(default=None, gt=0)
    dose_unit: str | None = Field(default=None, max_length=20)
    frequency: str | None = Field(default=None, max_length=60)
    started_on: date | None = None
    stopped_on: date | None = None
    # Only for a drug unknown to the catalogue; a known drug always takes the catalogue's classes.
    declared_classes: frozenset[MedicationClass] = frozenset()
    notes: str | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> Medication:
        if self.started_on and self.stopped_on and self.stopped_on < self.started_on:
            raise ValueError("stopped_on is before started_on")
        if (self.dose_amount is None) != (self.dose_unit is None):
            raise ValueError("give dose_amount and dose_unit together (e.g. 1 and 'mg')")
        return self

    @property
    def classes(self) -> frozenset[MedicationClass]:
        return medication_classes(self.drug_name, self.declared_classes)

    def is_current(self, on: date) -> bool:
        return (self.started_on is None or self.started_on <= on) and (
            self.stopped_on is None or self.stopped_on > on
        )


def medication_classes(
    drug_name: str, declared: frozenset[MedicationClass] = frozenset()
) -> frozenset[MedicationClass]:
    """The catalogue's classes for a known drug; otherwise what staff declared (or OTHER)."""
    drug = lookup_drug(drug_name)
    if drug is not None:
        return frozenset(drug.classes)
    return declared or frozenset({MedicationClass.OTHER})


class Allergy(_Record):
    substance: str = Field(min_length=1, max_length=120)
    reaction: str | None = Field(default=None, max_length=200)
    severity: Literal["mild", "moderate", "severe", "unknown"] | None = None


# --- body measurements -----------------------------------------------------------------------


class BodyMeasurement(_Record):
    """A weight or height at a time; BMI is derived from the latest of each."""

    kind: Literal["weight_kg", "height_cm"]
    value: float
    observed_at: datetime


def latest_bmi_kg_per_m2(measurements: list[BodyMeasurement]) -> float | None:
    from ketaclinic.clinical.vitals import bmi_kg_per_m2

    def latest(kind: str) -> BodyMeasurement | None:
        of_kind = [m for m in measurements if m.kind == kind]
        return max(of_kind, key=lambda m: m.observed_at) if of_kind else None

    weight, height = latest("weight_kg"), latest("height_cm")
    if weight is None or height is None:
        return None
    return bmi_kg_per_m2(weight.value, height.value)


def age_years(date_of_birth: date, on: date) -> int:
    had_birthday = (on.month, on.day) >= (date_of_birth.month, date_of_birth.day)
    return on.year - date_of_birth.year - (0 if had_birthday else 1)


# --- the summary a clinician reads -----------------------------------------------------------


class PatientSummary(_Record):
    patient_id: str
    mrn: str
    identity: Identity
    contact: ContactDetails
    is_synthetic: bool
    age_years: int
    contacts: tuple[Contact, ...]
    diagnoses: tuple[Diagnosis, ...]
    current_medications: tuple[Medication, ...]
    past_medications: tuple[Medication, ...]
    current_medication_classes: frozenset[MedicationClass]
    antidepressant_trials: tuple[AntidepressantTrial, ...]
    adequate_failed_trials: int
    allergies: tuple[Allergy, ...]
    latest_weight_kg: float | None
    latest_height_cm: float | None
    bmi_kg_per_m2: float | None

    @property
    def escort(self) -> Contact | None:
        return next((c for c in self.contacts if c.role == ContactRole.ESCORT), None)
