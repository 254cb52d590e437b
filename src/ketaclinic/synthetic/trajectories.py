"""Seeded, vectorised sampler of per-patient score trajectories over a treatment course.

Calibration (why the rates come out right): at each calibrated timepoint a patient's latent
improvement ``q`` (uniform on 0..1, Gaussian-copula correlated between 24 h and the end of
induction) picks one of four outcome bands by the published target rates::

    q < remission             -> remission band      total in [0, remission_max]
    q < response              -> response band       total in [remission_max + 1, response_max]
    q < 1 - worsening         -> no response         total in [response_max + 1, baseline]
    otherwise                 -> worsened            total in [baseline + 1, instrument max]

``response_max`` is the highest total that is still a response for that patient's baseline.
Baselines are drawn uniformly from the range in which every band exists (a remission is then also
a response, and a worse score is possible), so the expected share of each band equals its target
exactly, whatever the instrument. After induction, responders lose their response at a time drawn
from the profile's durability figure (share retained at 4 and 8 weeks, piecewise exponential, or
an exponential with a published median), measured from the end-of-induction score.

The targets are the published figures in ``clinical/data/evidence.yaml``, chosen per profile in
``synthetic/data/trajectory_model.yaml``. Cut-offs are passed in as :class:`OutcomeCutoffs`, built
by the caller from ``ketaclinic.clinical.outcomes``; this module holds no cut-off of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field
from scipy.special import ndtr

from ketaclinic.clinical.evidence import benchmark
from ketaclinic.clinical.knowledge import Source, load_knowledge
from ketaclinic.clinical.outcomes import OutcomePolicy, outcome_rules, remission_cutoff
from ketaclinic.clinical.questionnaires import get_instrument
from ketaclinic.clinical.vocabulary import Route
from ketaclinic.errors import InvalidInput

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# Outcome bands, as stored in Trajectories.*_band.
REMISSION, RESPONSE, NO_RESPONSE, WORSENED = 0, 1, 2, 3
WEEK_4_DAY, WEEK_8_DAY = 28, 56


@dataclass(frozen=True)
class OutcomeCutoffs:
    """The instrument rules the sampler needs, taken from ``ketaclinic.clinical.outcomes``."""

    instrument: str
    max_total: int
    response_min_reduction: float  # e.g. 0.5: a response is a fall of at least half the baseline
    remission_max_total: int  # a total at or below this is a remission

    def response_max_total(self, baseline_total: IntArray) -> IntArray:
        """Highest total still counted as a response for each baseline."""
        # The small epsilon keeps 0.5 x 14 = 7 a response despite floating-point rounding.
        limit = np.floor(baseline_total * (1.0 - self.response_min_reduction) + 1e-9)
        return np.asarray(limit, dtype=np.int64)

    def baseline_range(self) -> tuple[int, int]:
        """Baselines for which all four outcome bands exist."""
        low = self.remission_max_total + 1
        while low * (1.0 - self.response_min_reduction) + 1e-9 < self.remission_max_total + 1:
            low += 1
        high = self.max_total - 1
        if low > high:
            raise InvalidInput(
                f"Instrument '{self.instrument}': no baseline total allows remission, response "
                f"and worsening with these cut-offs (max {self.max_total})."
            )
        return low, high


class TimepointSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    response: str
    remission: str | None = None
    remission_share_of_responders_at: Literal["end_of_induction"] | None = None


class DurabilitySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["retention", "median_days"]
    week_4: str | None = None
    week_8: str | None = None
    median: str | None = None


class CalibrationProfile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    route: Route
    instrument: str
    hours_24: TimepointSpec
    end_of_induction: TimepointSpec
    worsening: str
    durability: DurabilitySpec
    source: Source


class ModelParameter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    value: float = Field(ge=-1, le=1)
    source: Source


class TrajectoryModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    latent_correlation_24h_to_end: ModelParameter
    profiles: tuple[CalibrationProfile, ...]


@dataclass(frozen=True)
class BandTargets:
    remission: float
    response: float  # includes remission
    worsening: float


@dataclass(frozen=True)
class Targets:
    """Expected rates per calibrated timepoint, resolved from the cited benchmarks."""

    profile_id: str
    hours_24: BandTargets
    end_of_induction: BandTargets
    # Share of end-of-induction responders still responding at 28 and 56 days after that score.
    retained_28_days: float
    retained_56_days: float
    benchmark_ids: tuple[str, ...]
    # The remission definition of the end-of-induction remission figure (outcomes.yaml option,
    # e.g. "le12" for the esketamine trials' MADRS <= 12); None = the instrument's default.
    remission_option: str | None = None

    @property
    def outcome_policy(self) -> OutcomePolicy:
        """Outcome definitions under which these rates hold (to judge sampled data by)."""
        if self.remission_option is None:
            return OutcomePolicy()
        return OutcomePolicy(remission={profile(self.profile_id).instrument: self.remission_option})


def trajectory_model() -> TrajectoryModel:
    return load_knowledge("ketaclinic.synthetic", "trajectory_model.yaml", TrajectoryModel)


def profile(profile_id: str) -> CalibrationProfile:
    profiles = trajectory_model().profiles
    for item in profiles:
        if item.id == profile_id:
            return item
    allowed = ", ".join(p.id for p in profiles)
    raise InvalidInput(f"Unknown calibration profile '{profile_id}'. Use one of: {allowed}.")


def resolve_targets(profile_id: str) -> Targets:
    """Look up every benchmark a profile names and turn them into band targets."""
    spec = profile(profile_id)
    used: list[str] = []

    def value(benchmark_id: str) -> float:
        used.append(benchmark_id)
        return benchmark(benchmark_id).value

    worsening = value(spec.worsening)
    end_response = value(spec.end_of_induction.response)
    if spec.end_of_induction.remission is None:
        raise InvalidInput(f"Profile '{profile_id}' needs an end-of-induction remission figure.")
    end_remission = value(spec.end_of_induction.remission)
    h24_response = value(spec.hours_24.response)
    if spec.hours_24.remission is not None:
        h24_remission = value(spec.hours_24.remission)
    else:
        h24_remission = h24_response * end_remission / end_response
    durability = spec.durability
    if durability.kind == "retention":
        assert durability.week_4 is not None
        assert durability.week_8 is not None
        kept_28, kept_56 = value(durability.week_4), value(durability.week_8)
    else:
        assert durability.median is not None
        median_days = value(durability.median)
        kept_28, kept_56 = 0.5 ** (WEEK_4_DAY / median_days), 0.5 ** (WEEK_8_DAY / median_days)
    return Targets(
        profile_id=profile_id,
        hours_24=BandTargets(h24_remission, h24_response, worsening),
        end_of_induction=BandTargets(end_remission, end_response, worsening),
        retained_28_days=kept_28,
        retained_56_days=kept_56,
        benchmark_ids=tuple(used),
        remission_option=benchmark(spec.end_of_induction.remission).remission_option,
    )


@dataclass(frozen=True)
class Trajectories:
    """Scores of n patients: baseline (day 0), day 1, the end of induction and follow-up days."""

    baseline_total: IntArray
    total_24h: IntArray
    end_score_day: IntArray
    total_end: IntArray
    follow_up_day: IntArray  # (F,) days from course start
    # (n, F) totals on the follow-up days; only meaningful after the patient's end score day.
    total_follow_up: IntArray
    band_24h: IntArray
    band_end: IntArray
    # Day the response was lost (inf when never lost or never a responder at the end).
    relapse_day: FloatArray

    def total_on_follow_up(self, day: int) -> IntArray:
        """Totals on one follow-up day (the end total where that day is not after the end)."""
        column = int(np.flatnonzero(self.follow_up_day == day)[0])
        return np.where(day > self.end_score_day, self.total_follow_up[:, column], self.total_end)

    def totals_on(self, days: IntArray) -> IntArray:
        """Totals on session days between day 1 and the end score (n x k), interpolated."""
        start = self.total_24h[:, None].astype(np.float64)
        end = self.total_end[:, None].astype(np.float64)
        span = np.maximum(self.end_score_day[:, None] - 1, 1)
        weight = np.clip((days - 1) / span, 0.0, 1.0)
        return np.asarray(np.rint(start + (end - start) * weight), dtype=np.int64)


def _bands(q: FloatArray, targets: BandTargets) -> IntArray:
    edges = np.array([targets.remission, targets.response, 1.0 - targets.worsening])
    return np.searchsorted(edges, q, side="right").astype(np.int64)


def _totals_in_band(
    rng: np.random.Generator, band: IntArray, baseline: IntArray, cutoffs: OutcomeCutoffs
) -> IntArray:
    response_max = cutoffs.response_max_total(baseline)
    low = np.select(
        [band == REMISSION, band == RESPONSE, band == NO_RESPONSE],
        [0, cutoffs.remission_max_total + 1, response_max + 1],
        default=baseline + 1,
    )
    high = np.select(
        [band == REMISSION, band == RESPONSE, band == NO_RESPONSE],
        [cutoffs.remission_max_total, response_max, baseline],
        default=cutoffs.max_total,
    )
    return np.asarray(low + np.floor(rng.random(band.size) * (high - low + 1)), dtype=np.int64)


def retained_share(targets: Targets, days_after_end: FloatArray) -> FloatArray:
    """Expected share of end-of-induction responders still responding ``days_after_end`` later."""
    kept_28, kept_56 = targets.retained_28_days, targets.retained_56_days
    days = np.asarray(days_after_end, dtype=np.float64)
    first = kept_28 ** (days / WEEK_4_DAY)
    second = kept_28 * (kept_56 / kept_28) ** ((days - WEEK_4_DAY) / WEEK_4_DAY)
    return np.asarray(np.where(days <= WEEK_4_DAY, first, second), dtype=np.float64)


def _relapse_after_end(rng: np.random.Generator, n: int, targets: Targets) -> FloatArray:
    """Days from the end score to the loss of response, piecewise exponential through the
    retained shares at 28 and 56 days (and the same hazard after 56 days)."""
    u = rng.random(n)
    kept_28, kept_56 = targets.retained_28_days, targets.retained_56_days
    with np.errstate(divide="ignore"):
        first = WEEK_4_DAY * np.log(u) / np.log(kept_28)
        second = WEEK_4_DAY + WEEK_4_DAY * np.log(u / kept_28) / np.log(kept_56 / kept_28)
    return np.asarray(np.where(u >= kept_28, first, second), dtype=np.float64)


def sample_trajectories(
    rng: np.random.Generator,
    *,
    induction_end_day: IntArray,
    cutoffs: OutcomeCutoffs,
    targets: Targets,
    follow_up_days: tuple[int, ...] = (WEEK_4_DAY, WEEK_8_DAY),
    correlation: float | None = None,
) -> Trajectories:
    """Sample one trajectory per entry of ``induction_end_day`` (works for 1 or 10^6 patients).

    The end-of-induction score is taken the day after the last induction session, mirroring the
    24-hour score after the first.
    """
    n = int(induction_end_day.size)
    if targets.remission_option and cutoffs.instrument == profile(targets.profile_id).instrument:
        # A published remission rate holds under its source's definition (e.g. MADRS <= 12 in the
        # esketamine trials), so the remission band of that instrument is sampled to that cut-off.
        cutoffs = cutoffs_for(cutoffs.instrument, targets.remission_option)
    rho = (
        trajectory_model().latent_correlation_24h_to_end.value
        if correlation is None
        else correlation
    )
    low, high = cutoffs.baseline_range()
    baseline = rng.integers(low, high + 1, size=n).astype(np.int64)
    z_24 = rng.standard_normal(n)
    z_end = rho * z_24 + np.sqrt(1.0 - rho**2) * rng.standard_normal(n)
    band_24 = _bands(ndtr(z_24), targets.hours_24)
    band_end = _bands(ndtr(z_end), targets.end_of_induction)
    total_24 = _totals_in_band(rng, band_24, baseline, cutoffs)
    total_end = _totals_in_band(rng, band_end, baseline, cutoffs)
    end_day = induction_end_day.astype(np.int64) + 1
    responder = band_end <= RESPONSE
    relapse = np.where(responder, end_day + _relapse_after_end(rng, n, targets), np.inf)

    follow_up = np.array(follow_up_days, dtype=np.int64)
    totals = np.empty((n, follow_up.size), dtype=np.int64)
    for column, day in enumerate(follow_up):
        # A responder keeps the band (a fresh total within it) until the response is lost.
        band = np.where(responder & (relapse <= day), NO_RESPONSE, band_end)
        totals[:, column] = _totals_in_band(rng, band, baseline, cutoffs)
    return Trajectories(
        baseline_total=baseline,
        total_24h=total_24,
        end_score_day=end_day,
        total_end=total_end,
        follow_up_day=follow_up,
        total_follow_up=totals,
        band_24h=band_24,
        band_end=band_end,
        relapse_day=relapse.astype(np.float64),
    )


def cutoffs_for(instrument_id: str, remission_option: str | None = None) -> OutcomeCutoffs:
    """The instrument's response and remission rules, from ``ketaclinic.clinical.outcomes``
    (``remission_option``: a cited remission option other than the default, e.g. "le12")."""
    rules = outcome_rules(instrument_id)
    if rules.response.type != "percent_reduction":
        raise InvalidInput(
            f"Instrument '{instrument_id}' defines response as an absolute change; the synthetic "
            "sampler needs a percent reduction (phq9, madrs, qids-sr16, hamd17, gad7).",
            field="instrument",
        )
    chosen = {instrument_id: remission_option} if remission_option else {}
    remission = remission_cutoff(instrument_id, OutcomePolicy(remission=chosen))
    # Totals are whole numbers, so "< 5" and "<= 4" are the same remission band.
    if remission.op == "<":
        remission_max = math.ceil(remission.value) - 1
    elif remission.op == "<=":
        remission_max = math.floor(remission.value)
    else:
        raise InvalidInput(
            f"Instrument '{instrument_id}': remission '{remission.op} {remission.value:g}' is not "
            "an upper cut-off; the sampler needs '<' or '<='.",
            field="instrument",
        )
    return OutcomeCutoffs(
        instrument=instrument_id,
        max_total=int(get_instrument(instrument_id).max_total),
        response_min_reduction=rules.response.value / 100.0,
        remission_max_total=remission_max,
    )
