"""The synthetic demo clinic as a pure plan: who the patients are and what happened to them.

Deterministic for a seed: patient ``i`` is drawn from its own generator seeded by ``(seed, i)``, so
adding patients never changes the earlier ones, and every id is a uuid5 of the seed and the record's
place, so loading the same plan twice finds the same rows. Outcome rates, course types, vital
signs and weights come from the cited data behind ``ketaclinic.synthetic.trajectories`` and
``cohort_model`` (not copied here); names, places and comorbidity shares from ``demo_clinic.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

import numpy as np

from ketaclinic.clinical.medications import load_catalogue, lookup_drug
from ketaclinic.synthetic.cohort_model import (
    ResolvedCourse,
    blood_pressures,
    cohort_model,
    normal,
    resolve_courses,
)
from ketaclinic.synthetic.demo_data import DemoClinicData, Role, demo_data
from ketaclinic.synthetic.demo_data import demo_id as demo_id  # re-exported for callers
from ketaclinic.synthetic.demo_scores import PlannedScore, clinic_time, plan_scores

DEFAULT_PATIENTS = 48
# Patients arriving after the demo's first month are numbered from here (clinic number
# DEMO-<seed>-10001 on), apart from the month's patients however many those are.
ARRIVALS_FROM = 10_000
_FICTIONAL_PHONE = "+1 555-01{:02d}"  # 555-0100..0199 are reserved for fiction in North America
# Featured roles that fix the course: esketamine cases.
_ESKETAMINE_ROLES = ("esketamine-suicidal-ideation", "bladder-worsening", "esketamine-transfer")
# Diagnoses a featured role adds to the drawn ones.
_ROLE_DIAGNOSES: dict[str, dict[str, str]] = {
    "absolute-contraindication": {"condition": "intracerebral-haemorrhage", "status": "historical"},
    "esketamine-suicidal-ideation": {"condition": "suicidal-ideation", "status": "active"},
    "relative-contraindication": {"condition": "substance-use-disorder", "status": "active"},
    "ptsd": {"condition": "ptsd", "status": "active"},
}


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
    # A featured patient's part in the demo (demo_clinic.yaml), None for the rest.
    role: Role | None = None
    portal_user: bool = False
    research_consent: bool = False
    # Every form over the course, whatever its date (the loader stores those already due).
    scores: list[PlannedScore] = field(default_factory=list)

    def scores_due(self, now: datetime) -> list[PlannedScore]:
        return [s for s in self.scores if s.administered_at <= now]


@cache
def _courses() -> tuple[ResolvedCourse, ...]:
    return resolve_courses()


def course_of(course_type: str) -> ResolvedCourse:
    """A course type of the cohort model, resolved (cached)."""
    return next(c for c in _courses() if c.id == course_type)


def _pick(rng: np.random.Generator, options: tuple[str, ...] | list[str]) -> str:
    return str(options[int(rng.integers(len(options)))])


def plan_patient(
    seed: int, index: int, as_of: datetime, *, first_session_on: date | None = None
) -> DemoPatient:
    """Patient ``index`` of the clinic whose month ends at ``as_of`` (the first load's time);
    an arrival after the month is given its first session's day."""
    rng = np.random.default_rng([seed, index])
    data, model = demo_data(), cohort_model()
    population = model.population
    pid = demo_id(seed, "patient", index)
    featured = data.featured_as(index)
    role = featured.role if featured else None

    sex = "F" if rng.random() < population.female_share else "M"
    given, family = _pick(rng, data.given_names[sex]), _pick(rng, data.family_names)
    top_age = min(population.age_years["max"], data.max_age_years)
    age = int(rng.integers(population.age_years["min"], top_age + 1))
    birth = as_of.date() - timedelta(days=int(age * 365.25 + rng.integers(0, 365)))

    weights = np.array([c.weight for c in model.courses])
    course_spec = model.courses[int(rng.choice(len(weights), p=weights / weights.sum()))]
    course_id = "esketamine-trd" if role in _ESKETAMINE_ROLES else course_spec.id
    course = next(c for c in _courses() if c.id == course_id)
    indications = [w for w in population.indications if w.indication.value in course.indications]
    shares = np.array([w.weight for w in indications])
    primary = indications[
        int(rng.choice(len(indications), p=shares / shares.sum()))
    ].indication.value
    if role == "esketamine-suicidal-ideation":
        primary = "mdd"  # depression with acute suicidal ideation, not treatment resistant

    intake_window = data.intake_days_before_first_session
    start_offset = int(rng.integers(0, data.course_start_window_days))
    if featured and featured.start_days_before:
        low, high = featured.start_days_before
        start_offset = low + start_offset % (high - low + 1)
    start_on = first_session_on or as_of.date() - timedelta(days=start_offset)
    first_session = clinic_time(start_on, rng, as_of.tzinfo)
    intake_at = clinic_time(
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
            diagnoses.append({"condition": condition, "status": comorbidity.status})
    if role in _ROLE_DIAGNOSES:
        added = _ROLE_DIAGNOSES[role]
        diagnoses = [d for d in diagnoses if d["condition"] != added["condition"]] + [added]
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
    systolic, diastolic = blood_pressures(rng, vitals.systolic_mmhg, vitals.diastolic_mmhg, 1)
    intake_vitals = {
        "systolic_mmhg": round(float(systolic[0])),
        "diastolic_mmhg": round(float(diastolic[0])),
        "heart_rate_bpm": round(float(normal(rng, vitals.heart_rate_bpm, 1)[0])),
        "spo2_percent": float(min(100, round(float(normal(rng, vitals.spo2_percent, 1)[0])))),
        "respiratory_rate_per_min": round(
            float(normal(rng, vitals.respiratory_rate_per_min, 1)[0])
        ),
    }
    dropped = data.dropout_after_day if rng.random() < course.dropout_share else None
    if role in ("portal-user", *_ESKETAMINE_ROLES):
        dropped = None  # their part in the demo needs the whole course
    mdsi = role == "esketamine-suicidal-ideation"
    planned_course = PlannedCourse(
        course_type=course.id,
        # The suicidal-ideation case is treated on its own label protocol; its scores borrow the
        # esketamine course's calibration (no separate MDSI outcome figures are modelled).
        protocol_id="esketamine-mdsi" if mdsi else course.protocol_id,
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
        role=role,
        portal_user=role == "portal-user" or _share(seed, index, 1, data.portal_share),
        research_consent=role == "research-withdrawn"
        or _share(seed, index, 2, data.research_consent_share),
    )
    patient.scores.extend(plan_scores(seed, patient, course, role, rng))
    return patient


def _share(seed: int, index: int, number: int, share: float) -> bool:
    """A yes/no drawn from its own generator (adding one leaves every other draw unchanged)."""
    return bool(np.random.default_rng([seed, index, number]).random() < share)


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


def arrival_start(seed: int, as_of: datetime, number: int) -> date:
    """First-session day of the ``number``-th patient to arrive after the month (0, 1, ...)."""
    per_week = demo_data().arrivals_per_week
    return as_of.date() + timedelta(days=1 + int(number * 7 / per_week))


def plan_demo(
    seed: int,
    as_of: datetime,
    patients: int = DEFAULT_PATIENTS,
    *,
    now: datetime | None = None,
) -> list[DemoPatient]:
    """The demo clinic for ``seed`` whose month ends at ``as_of`` (an aware datetime), as of
    ``now`` (default ``as_of``).

    ``patients`` started their courses in the month; after it, new patients keep arriving at the
    rate ``demo_clinic.yaml`` gives (clinic numbers from ``DEMO-<seed>-10001``), so the caseload
    stays steady whenever the demo is opened. An arrival is in the clinic once their intake visit
    has happened by ``now``. Every patient comes with every form of their course, whatever its
    date; the loader stores those due by ``now``.
    """
    if as_of.tzinfo is None:
        raise ValueError("as_of must be time-zone aware")
    moment = now or as_of
    people = [plan_patient(seed, index, as_of) for index in range(patients)]
    latest_intake = moment.date() + timedelta(days=demo_data().intake_days_before_first_session[1])
    number = 0
    while (start := arrival_start(seed, as_of, number)) <= latest_intake:
        person = plan_patient(seed, ARRIVALS_FROM + number, as_of, first_session_on=start)
        if person.intake_at <= moment:
            people.append(person)
        number += 1
    return people
