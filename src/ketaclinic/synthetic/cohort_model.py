"""Typed parameters of the synthetic network (``synthetic/data/cohort_model.yaml``).

Outcome rates are not here: they come from the calibration profiles and the cited benchmarks.
Doses and schedules come from the protocol files. This module joins the three so the streamer
has one resolved description per course type.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ketaclinic.clinical.evidence import benchmark
from ketaclinic.clinical.knowledge import Source, load_knowledge
from ketaclinic.clinical.protocols import DoseBasis, get_protocol
from ketaclinic.clinical.vocabulary import ConditionId, Route
from ketaclinic.synthetic.trajectories import Targets, profile, resolve_targets


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Normal(_Frozen):
    mean: float
    sd: float = Field(ge=0)
    min: float | None = None
    max: float | None = None


class IndicationWeight(_Frozen):
    indication: ConditionId
    weight: float = Field(gt=0)


class Population(_Frozen):
    female_share: float = Field(ge=0, le=1)
    age_years: dict[str, int]
    weight_kg: Normal
    extra_failed_trials_binomial: dict[str, float]
    indications: tuple[IndicationWeight, ...]
    source: Source


class CourseType(_Frozen):
    id: str
    protocol_id: str
    calibration_profile: str
    weight: float = Field(gt=0)
    dose_weights: tuple[float, ...]
    dropout_share: float | None = Field(default=None, ge=0, le=1)
    dropout_share_benchmark: str | None = None
    vitals_minutes: tuple[int, ...]
    systolic_rise_mmhg: Normal
    source: Source


class SessionShares(_Frozen):
    no_show_share: float = Field(ge=0, le=1)
    aborted_share: float = Field(ge=0, le=1)
    source: Source


class Vitals(_Frozen):
    systolic_mmhg: Normal
    diastolic_mmhg: Normal
    diastolic_rise_share_of_systolic: float
    heart_rate_bpm: Normal
    spo2_percent: Normal
    respiratory_rate_per_min: Normal
    source: Source


class AdverseEventTerm(_Frozen):
    term: str
    per_session: dict[Route, float | None]
    per_patient_benchmark: dict[Route, str] = {}


class AdverseEvents(_Frozen):
    serious_share: float = Field(ge=0, le=1)
    severity_weights: dict[str, float]
    terms: tuple[AdverseEventTerm, ...]
    source: Source


class CohortModel(_Frozen):
    population: Population
    courses: tuple[CourseType, ...]
    sessions: SessionShares
    vitals: Vitals
    adverse_events: AdverseEvents


def cohort_model() -> CohortModel:
    return load_knowledge("ketaclinic.synthetic", "cohort_model.yaml", CohortModel)


@dataclass(frozen=True)
class ResolvedCourse:
    """One course type with its schedule, doses, targets and instrument resolved."""

    id: str
    protocol_id: str
    route: Route
    indications: tuple[str, ...]
    instrument: str
    targets: Targets
    session_days: tuple[int, ...]
    dose_per_kg: bool  # weight-based (mg/kg) or fixed mg
    dose_options: tuple[float, ...]
    # The label's fixed first dose (esketamine: 56 mg on day 1), whatever dose follows.
    first_session_dose: float | None
    dose_weights: tuple[float, ...]
    dropout_share: float
    vitals_minutes: tuple[int, ...]
    systolic_rise_mmhg: Normal
    # Per-session probability of each adverse-event term on this route.
    adverse_event_per_session: dict[str, float]


def induction_days(session_count: int, sessions_per_week: float) -> tuple[int, ...]:
    """Days of an induction at a weekly frequency, e.g. 3 a week -> 0, 2, 4, 7, 9, 11."""
    per_week = max(1, round(sessions_per_week))
    return tuple(7 * (i // per_week) + (i % per_week) * 7 // per_week for i in range(session_count))


def resolve_courses(model: CohortModel | None = None) -> tuple[ResolvedCourse, ...]:
    model = model or cohort_model()
    resolved: list[ResolvedCourse] = []
    for course in model.courses:
        protocol = get_protocol(course.protocol_id)
        induction = next(p for p in protocol.phases if p.kind == "induction")
        days = induction_days(induction.session_count, induction.sessions_per_week)
        per_kg = protocol.dose.basis == DoseBasis.MG_PER_KG
        options = protocol.dose.titration_steps if per_kg else protocol.dose.allowed
        if len(options) != len(course.dose_weights):
            raise ValueError(f"{course.id}: dose_weights must match the protocol's {options}")
        if course.dropout_share_benchmark is not None:
            dropout = benchmark(course.dropout_share_benchmark).value
        else:
            assert course.dropout_share is not None
            dropout = course.dropout_share
        ae: dict[str, float] = {}
        for term in model.adverse_events.terms:
            if protocol.route in term.per_patient_benchmark:
                # Per-patient incidence P over k sessions -> per-session p with 1-(1-p)^k = P.
                per_patient = benchmark(term.per_patient_benchmark[protocol.route]).value
                ae[term.term] = 1.0 - (1.0 - per_patient) ** (1.0 / len(days))
            elif term.per_session.get(protocol.route) is not None:
                ae[term.term] = float(term.per_session[protocol.route] or 0.0)
        resolved.append(
            ResolvedCourse(
                id=course.id,
                protocol_id=protocol.id,
                route=protocol.route,
                indications=tuple(i.value for i in protocol.indications),
                instrument=profile(course.calibration_profile).instrument,
                targets=resolve_targets(course.calibration_profile),
                session_days=days,
                dose_per_kg=per_kg,
                dose_options=tuple(options),
                first_session_dose=protocol.dose.first_session,
                dose_weights=course.dose_weights,
                dropout_share=dropout,
                vitals_minutes=course.vitals_minutes,
                systolic_rise_mmhg=course.systolic_rise_mmhg,
                adverse_event_per_session=ae,
            )
        )
    return tuple(resolved)


def normal(rng: np.random.Generator, spec: Normal, size: int | tuple[int, ...]) -> np.ndarray:
    values = rng.normal(spec.mean, spec.sd, size=size)
    if spec.min is not None or spec.max is not None:
        values = np.clip(values, spec.min, spec.max)
    return values


def blood_pressures(
    rng: np.random.Generator, systolic: Normal, diastolic: Normal, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Systolic and diastolic pairs drawn from their two distributions, keeping only pairs with
    the systolic above the diastolic (drawn independently, about 1 in 350 pairs is not)."""
    sys_mmhg = normal(rng, systolic, size)
    dia_mmhg = normal(rng, diastolic, size)
    while (bad := np.round(dia_mmhg) >= np.round(sys_mmhg)).any():
        count = int(bad.sum())
        sys_mmhg[bad] = normal(rng, systolic, count)
        dia_mmhg[bad] = normal(rng, diastolic, count)
    return sys_mmhg, dia_mmhg
