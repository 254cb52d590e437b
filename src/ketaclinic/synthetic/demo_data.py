"""The demo clinic's modelling data (``data/demo_clinic.yaml``) and its stable ids.

Everything in the file is a modelling choice for synthetic data, not a clinical figure; clinical
numbers (doses, cut-offs, outcome rates) come from the cited clinical data files.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ketaclinic.clinical.knowledge import Source, load_knowledge
from ketaclinic.clinical.vocabulary import ConditionId
from ketaclinic.services.context import Actor

DEMO_NAMESPACE = uuid.UUID("5b0f4c2e-7f7e-4a53-9d0c-6b1f0f2f6a11")
# The demo's staff carry the demo accounts' names (``services.users``), so a user signed in as the
# demo prescriber or nurse recognises their own plans, sessions and tasks.
NURSE = Actor(user_id=None, role="nurse", display_name="Noel Nurse")
PRESCRIBER = Actor(user_id=None, role="prescriber", display_name="Dr Priya Prescriber")

Role = Literal[
    "portal-user",
    "absolute-contraindication",
    "esketamine-suicidal-ideation",
    "relative-contraindication",
    "bladder-worsening",
    "ptsd",
    "research-withdrawn",
    "esketamine-transfer",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Comorbidity(_Frozen):
    condition: ConditionId
    share: float = Field(ge=0, le=1)
    status: Literal["active", "in-remission", "historical"] = "active"


class ExtraMedication(_Frozen):
    drug: str
    dose_amount: float
    dose_unit: str
    frequency: str
    share: float = Field(ge=0, le=1)


class AllergyShare(_Frozen):
    substance: str
    reaction: str
    severity: str
    share: float = Field(ge=0, le=1)


class HeightModel(_Frozen):
    mean: float
    sd: float = Field(gt=0)


class Featured(_Frozen):
    index: int = Field(ge=0)
    role: Role
    start_days_before: tuple[int, int] | None = None


class BladderWorsening(_Frozen):
    after_days: int = Field(gt=0)
    symptoms: tuple[str, ...] = Field(min_length=1)
    oleary_sant_answers: tuple[int, ...]


class BpRise(_Frozen):
    peak_minutes: float = Field(gt=0)
    back_to_baseline_minutes: float = Field(gt=0)
    source: Source


class ReportedEvent(_Frozen):
    term_id: str
    verbatim: str


class DemoClinicData(_Frozen):
    source: Source
    given_names: dict[str, tuple[str, ...]]
    family_names: tuple[str, ...]
    streets: tuple[str, ...]
    city: str
    country: str
    escort_relationships: tuple[str, ...]
    comorbidities: tuple[Comorbidity, ...]
    current_medications: tuple[ExtraMedication, ...]
    antidepressants: tuple[str, ...]
    antihypertensives: tuple[str, ...]
    allergies: tuple[AllergyShare, ...]
    height_cm: dict[str, HeightModel]
    gad7_baseline_total: dict[str, tuple[int, int]]
    gad7_share_without_gad: float = Field(ge=0, le=1)
    other_trials_max: int
    course_start_window_days: int
    intake_days_before_first_session: tuple[int, int]
    max_age_years: int
    dropout_after_day: int
    suicide_items: dict[str, str]
    cssrs_intake_levels_with_suicidal_ideation: dict[Literal["low", "moderate"], float]
    qids_share: float = Field(ge=0, le=1)
    pcl5_baseline_total: tuple[int, int]
    pcl5_course_days: tuple[int, ...]
    portal_share: float = Field(ge=0, le=1)
    portal_hours: tuple[int, int]
    portal_weeks: int = Field(gt=0)
    research_consent_share: float = Field(ge=0, le=1)
    featured: tuple[Featured, ...]
    relative_override_reasons: dict[str, str]
    bladder_worsening: BladderWorsening
    transfer_override_reason: str
    arrivals_per_week: float = Field(gt=0)
    bp_rise_over_session: BpRise
    adverse_events_reported: dict[str, ReportedEvent]

    def role_of(self, index: int) -> Role | None:
        return next((f.role for f in self.featured if f.index == index), None)

    def featured_as(self, index: int) -> Featured | None:
        return next((f for f in self.featured if f.index == index), None)


def demo_data() -> DemoClinicData:
    return load_knowledge("ketaclinic.synthetic", "demo_clinic.yaml", DemoClinicData)


def demo_id(seed: int, *parts: object) -> str:
    """The stable id of one demo record: the same seed and place give the same id."""
    return str(
        uuid.uuid5(DEMO_NAMESPACE, "/".join(["ketaclinic-demo", str(seed), *map(str, parts)]))
    )
