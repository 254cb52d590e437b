"""The synthetic demo clinic as a pure plan: who the patients are and what happened to them.

Deterministic for a seed: patient ``i`` is drawn from its own generator seeded by ``(seed, i)``, so
adding patients never changes the earlier ones, and every id is a uuid5 of the seed and the record's
place, so loading the same plan twice finds the same rows. Outcome rates, course types, vital
signs and weights come from the cited data behind ``ketaclinic.synthetic.trajectories`` and
``cohort_model`` (not copied here); names, places and comorbidity shares from ``demo_clinic.yaml``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ketaclinic.clinical.knowledge import Source, load_knowledge
from ketaclinic.clinical.medications import load_catalogue, lookup_drug
from ketaclinic.clinical.questionnaires import get_instrument
from ketaclinic.clinical.vocabulary import ConditionId
from ketaclinic.synthetic.cohort_model import ResolvedCourse, cohort_model, normal, resolve_courses
from ketaclinic.synthetic.trajectories import cutoffs_for, sample_trajectories

DEMO_NAMESPACE = uuid.UUID("5b0f4c2e-7f7e-4a53-9d0c-6b1f0f2f6a11")
DEFAULT_PATIENTS = 48
_FICTIONAL_PHONE = "+1 555-01{:02d}"  # 555-0100..0199 are reserved for fiction in North America


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Comorbidity(_Frozen):
    condition: ConditionId
    share: float = Field(ge=0, le=1)


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


class DemoClinicData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

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


def demo_data() -> DemoClinicData:
    return load_knowledge("ketaclinic.synthetic", "demo_clinic.yaml", DemoClinicData)


def demo_id(seed: int, *parts: object) -> str:
    """The stable id of one demo record: the same seed and place give the same id."""
    return str(
        uuid.uuid5(DEMO_NAMESPACE, "/".join(["ketaclinic-demo", str(seed), *map(str, parts)]))
    )


@dataclass(frozen=True)
class PlannedScore:
    instrument: str
    course_day: int
    administered_at: datetime
    answers: tuple[int, ...]
    response_id: str


@dataclass(frozen=True)
class PlannedCourse:
    """The treatment course the patient is on; sessions are planned by their own module."""

    course_type: str
    protocol_id: str
    route: str
    instrument: str
    first_session_at: datetime
    session_days: tuple[int, ...]
    dropped_out_after_day: int | None


@dataclass(frozen=True)
class DemoPatient:
    index: int
    patient_id: str
    mrn: str
    identity: dict[str, Any]
    contact: dict[str, Any]
    escort: dict[str, Any]
    intake_at: datetime
    diagnoses: list[dict[str, Any]]
    medications: list[dict[str, Any]]
    trials: list[dict[str, Any]]
    intended_failed_trials: int
    allergies: list[dict[str, Any]]
    height_cm: float
    weight_kg: float
    intake_vitals: dict[str, float]
    course: PlannedCourse
    scores: list[PlannedScore] = field(default_factory=list)


@cache
def _courses() -> tuple[ResolvedCourse, ...]:
    return resolve_courses()


def _pick(rng: np.random.Generator, options: tuple[str, ...] | list[str]) -> str:
    return str(options[int(rng.integers(len(options)))])


def spread_total(rng: np.random.Generator, maxima: list[int], total: int) -> list[int]:
    """Item answers (each 0..its maximum) that add up to ``total``, drawn at random."""
    if not 0 <= total <= sum(maxima):
        raise ValueError(f"total {total} outside 0..{sum(maxima)}")
    answers = [0] * len(maxima)
    for _ in range(total):
        open_items = [i for i, top in enumerate(maxima) if answers[i] < top]
        answers[open_items[int(rng.integers(len(open_items)))]] += 1
    return answers


def _answers(
    rng: np.random.Generator, instrument_id: str, total: int, suicidal: bool
) -> tuple[int, ...]:
    instrument = get_instrument(instrument_id)
    if instrument.scoring.domains or instrument.scoring.reverse_items:
        # The sampled total must be the scored total, or the demo's outcome rates would drift.
        raise ValueError(
            f"{instrument_id}: the demo spreads totals over plain-sum instruments only"
        )
    items = instrument.items
    maxima = [item.max_value for item in items]
    if instrument_id == "phq9" and not suicidal and total <= sum(maxima[:-1]):
        # Item 9 (thoughts of death or self-harm) stays 0 unless the history includes suicidal
        # ideation, as in a real caseload where a positive item 9 is the exception.
        maxima[-1] = 0
    return tuple(spread_total(rng, maxima, total))


def _at(day: date, rng: np.random.Generator, tz: Any) -> datetime:
    # Clinic hours, 08:00 to 16:00, on the quarter hour.
    minutes = int(rng.integers(0, 33)) * 15
    return datetime.combine(day, time(8, 0), tzinfo=tz) + timedelta(minutes=minutes)


def plan_patient(seed: int, index: int, as_of: datetime) -> DemoPatient:
    rng = np.random.default_rng([seed, index])
    data, model = demo_data(), cohort_model()
    population = model.population
    pid = demo_id(seed, "patient", index)

    sex = "F" if rng.random() < population.female_share else "M"
    given, family = _pick(rng, data.given_names[sex]), _pick(rng, data.family_names)
    top_age = min(population.age_years["max"], data.max_age_years)
    age = int(rng.integers(population.age_years["min"], top_age + 1))
    birth = as_of.date() - timedelta(days=int(age * 365.25 + rng.integers(0, 365)))

    weights = np.array([c.weight for c in model.courses])
    course_spec = model.courses[int(rng.choice(len(weights), p=weights / weights.sum()))]
    course = next(c for c in _courses() if c.id == course_spec.id)
    indications = [w for w in population.indications if w.indication.value in course.indications]
    shares = np.array([w.weight for w in indications])
    primary = indications[
        int(rng.choice(len(indications), p=shares / shares.sum()))
    ].indication.value

    intake_window = data.intake_days_before_first_session
    start_offset = int(rng.integers(0, data.course_start_window_days))
    first_session = _at(as_of.date() - timedelta(days=start_offset), rng, as_of.tzinfo)
    intake_at = _at(
        first_session.date() - timedelta(days=int(rng.integers(*intake_window))), rng, as_of.tzinfo
    )

    diagnoses = [{"condition": "mdd", "status": "active"}]
    if primary == "trd":
        diagnoses.append({"condition": "trd", "status": "active"})
    elif primary != "mdd":
        diagnoses.append({"condition": primary, "status": "active"})
    for comorbidity in data.comorbidities:
        condition = comorbidity.condition.value
        if rng.random() < comorbidity.share and condition not in {
            d["condition"] for d in diagnoses
        }:
            diagnoses.append({"condition": condition, "status": "active"})
    conditions = {d["condition"] for d in diagnoses}

    trials, failed, current_ad = _trials(rng, data, primary)
    medications = [
        _dose(current_ad, first_session.date() - timedelta(weeks=int(rng.integers(6, 30))))
    ]
    for med in data.current_medications:
        if rng.random() < med.share:
            medications.append(
                {"drug_name": med.drug}
                | med.model_dump(include={"dose_amount", "dose_unit", "frequency"})
            )
    if "hypertension" in conditions:
        medications.append({"drug_name": _pick(rng, data.antihypertensives), "frequency": "daily"})
    allergies = [a.model_dump(exclude={"share"}) for a in data.allergies if rng.random() < a.share]

    height_model = data.height_cm[sex]
    height = float(rng.normal(height_model.mean, height_model.sd))
    weight = float(np.round(normal(rng, population.weight_kg, 1)[0], 1))
    vitals = model.vitals
    intake_vitals = {
        "systolic_mmhg": round(float(normal(rng, vitals.systolic_mmhg, 1)[0])),
        "diastolic_mmhg": round(float(normal(rng, vitals.diastolic_mmhg, 1)[0])),
        "heart_rate_bpm": round(float(normal(rng, vitals.heart_rate_bpm, 1)[0])),
        "spo2_percent": float(min(100, round(float(normal(rng, vitals.spo2_percent, 1)[0])))),
        "respiratory_rate_per_min": round(
            float(normal(rng, vitals.respiratory_rate_per_min, 1)[0])
        ),
    }
    dropped = data.dropout_after_day if rng.random() < course.dropout_share else None
    planned_course = PlannedCourse(
        course_type=course.id,
        protocol_id=course.protocol_id,
        route=course.route.value,
        instrument=course.instrument,
        first_session_at=first_session,
        session_days=course.session_days,
        dropped_out_after_day=dropped,
    )
    patient = DemoPatient(
        index=index,
        patient_id=pid,
        mrn=f"DEMO-{seed}-{index + 1:03d}",
        identity={"given_name": given, "family_name": family, "date_of_birth": birth, "sex": sex},
        contact={
            "phone": _FICTIONAL_PHONE.format(int(rng.integers(100))),
            "email": f"{given}.{family}@example.org".lower(),
            "address_line": f"{int(rng.integers(1, 200))} {_pick(rng, data.streets)}",
            "city": data.city,
            "country": data.country,
        },
        escort=_escort(rng, data, family),
        intake_at=intake_at,
        diagnoses=diagnoses,
        medications=medications,
        trials=trials,
        intended_failed_trials=failed,
        allergies=allergies,
        height_cm=round(height, 1),
        weight_kg=weight,
        intake_vitals=intake_vitals,
        course=planned_course,
    )
    patient.scores.extend(
        _scores(rng, seed, patient, course, "suicidal-ideation" in conditions, as_of)
    )
    return patient


def _dose(drug_id: str, started_on: date) -> dict[str, Any]:
    drug = lookup_drug(drug_id)
    assert drug is not None
    assert drug.adequate_min_dose_mg_per_day is not None
    return {
        "drug_name": drug.name,
        "dose_amount": drug.adequate_min_dose_mg_per_day,
        "dose_unit": "mg",
        "frequency": "daily",
        "started_on": started_on,
    }


def _trials(
    rng: np.random.Generator, data: DemoClinicData, primary: str
) -> tuple[list[dict[str, Any]], int, str]:
    """Failed adequate trials (two or more for TRD, the usual definition), then other trials."""
    catalogue = load_catalogue()
    extra = cohort_model().population.extra_failed_trials_binomial
    draws = int(rng.binomial(int(extra["trials"]), extra["p"]))
    failed = 2 + draws if primary == "trd" else min(1, draws)
    drugs = list(rng.permutation(list(data.antidepressants)))
    failure_outcomes = sorted(catalogue.adequacy.failed_outcomes)
    trials = []
    for drug_id in drugs[:failed]:
        drug = lookup_drug(str(drug_id))
        assert drug is not None
        assert drug.adequate_min_dose_mg_per_day is not None
        trials.append(
            {
                "drug": drug.name,
                "dose_mg_per_day": drug.adequate_min_dose_mg_per_day
                * float(rng.choice([1, 1.5, 2])),
                "duration_weeks": catalogue.adequacy.min_duration_weeks + int(rng.integers(0, 7)),
                "outcome": _pick(rng, failure_outcomes),
            }
        )
    others = int(rng.integers(0, data.other_trials_max + 1))
    for drug_id in drugs[failed : failed + others]:
        # Stopped early for side effects: too short to count as adequate.
        trials.append(
            {
                "drug": str(drug_id),
                "duration_weeks": int(rng.integers(1, 4)),
                "outcome": "intolerance",
            }
        )
    current = str(drugs[failed + others])
    return trials, failed, current


def _escort(rng: np.random.Generator, data: DemoClinicData, family: str) -> dict[str, Any]:
    relationship = _pick(rng, data.escort_relationships)
    sex = _pick(rng, ["F", "M"])
    family_name = family if relationship != "friend" else _pick(rng, data.family_names)
    return {
        "role": "escort",
        "name": f"{_pick(rng, data.given_names[sex])} {family_name}",
        "relationship": relationship,
        "phone": _FICTIONAL_PHONE.format(int(rng.integers(100))),
    }


def _scores(
    rng: np.random.Generator,
    seed: int,
    patient: DemoPatient,
    course: ResolvedCourse,
    suicidal: bool,
    as_of: datetime,
) -> list[PlannedScore]:
    trajectory = sample_trajectories(
        rng,
        induction_end_day=np.array([course.session_days[-1]]),
        cutoffs=cutoffs_for(course.instrument),
        targets=course.targets,
    )
    points = [(0, int(trajectory.baseline_total[0])), (1, int(trajectory.total_24h[0]))]
    points.append((int(trajectory.end_score_day[0]), int(trajectory.total_end[0])))
    for column, day in enumerate(trajectory.follow_up_day):
        points.append((int(day), int(trajectory.total_follow_up[0, column])))
    dropped = patient.course.dropped_out_after_day
    start = patient.course.first_session_at
    planned = []
    for day, total in points:
        # Baseline before the first dose; later scores at the clinic visit that day.
        when = (
            start - timedelta(minutes=30)
            if day == 0
            else _at(start.date() + timedelta(days=day), rng, start.tzinfo)
        )
        if when > as_of or (dropped is not None and day > dropped):
            continue
        planned.append(
            PlannedScore(
                course.instrument,
                day,
                when,
                _answers(rng, course.instrument, total, suicidal),
                demo_id(seed, "patient", patient.index, "score", course.instrument, day),
            )
        )
    data = demo_data()
    has_gad = any(d["condition"] == "gad" for d in patient.diagnoses)
    if has_gad or rng.random() < data.gad7_share_without_gad:
        low, high = data.gad7_baseline_total["with_gad" if has_gad else "without_gad"]
        when = start - timedelta(minutes=35)
        if when <= as_of:
            total = int(rng.integers(low, high + 1))
            planned.append(
                PlannedScore(
                    "gad7",
                    0,
                    when,
                    _answers(rng, "gad7", total, suicidal),
                    demo_id(seed, "patient", patient.index, "score", "gad7", 0),
                )
            )
    return planned


def plan_demo(seed: int, as_of: datetime, patients: int = DEFAULT_PATIENTS) -> list[DemoPatient]:
    """The whole demo clinic for ``seed`` as of ``as_of`` (an aware datetime)."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be time-zone aware")
    return [plan_patient(seed, index, as_of) for index in range(patients)]
