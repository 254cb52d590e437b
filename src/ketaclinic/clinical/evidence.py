"""Published outcome figures as cited data (clinical reference, section 4).

One home for these numbers: the synthetic generator calibrates its target rates to them and the
cohort report's comparison panel shows them beside a clinic's own figures. The figures live in
``clinical/data/evidence.yaml``; this module only types, validates and looks them up.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ketaclinic.clinical.knowledge import Source, load_knowledge
from ketaclinic.clinical.outcomes import OutcomePolicy, outcome_rules
from ketaclinic.clinical.vocabulary import Route
from ketaclinic.errors import NotFound


class Measure(StrEnum):
    RESPONSE = "response"
    REMISSION = "remission"
    RELAPSE = "relapse"
    WORSENING = "worsening"
    RESPONSE_RETAINED = "response_retained"
    MEDIAN_DAYS_TO_RELAPSE = "median_days_to_relapse"
    DISCONTINUATION_FOR_ADVERSE_EVENT = "discontinuation_for_adverse_event"
    ADVERSE_EVENT_INCIDENCE = "adverse_event_incidence"


class Timepoint(StrEnum):
    """When a figure was measured, in the words the cohort analytics use."""

    HOURS_24 = "hours_24"
    HOURS_72 = "hours_72"
    DAY_7 = "day_7"
    END_OF_INDUCTION = "end_of_induction"
    DAY_28 = "day_28"
    WEEK_4 = "week_4"
    WEEK_6 = "week_6"
    WEEK_8 = "week_8"
    MAINTENANCE = "maintenance"
    AFTER_RELAPSE = "after_relapse"


# Measures whose value is a share of patients (a proportion); the others are durations in days.
PROPORTION_MEASURES = frozenset(Measure) - {Measure.MEDIAN_DAYS_TO_RELAPSE}


class Benchmark(BaseModel):
    """One published figure: what was measured, in whom, when, the value and where it comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    measure: Measure
    instrument: str = Field(description="Questionnaire id, 'mixed' for pooled scales, 'none'.")
    timepoint: Timepoint
    route: Route
    protocol: str
    population: str
    design: str
    arm: str
    n: int | None = Field(
        default=None, gt=0, description="Patients in the arm the value describes."
    )
    n_total: int | None = Field(
        default=None, gt=0, description="All participants; not a denominator."
    )
    value: float = Field(ge=0)
    label: str
    adverse_event_term: str | None = None
    # For a remission figure: the outcomes.yaml remission option matching the definition the
    # source used (e.g. "le12" for MADRS <= 12), so a comparison with the figure, or synthetic data
    # calibrated to it, judges remission the same way. None: the instrument's default option.
    remission_option: str | None = None
    source: Source

    @model_validator(mode="after")
    def _proportion_in_range(self) -> Benchmark:
        if self.measure in PROPORTION_MEASURES and self.value > 1:
            raise ValueError(f"{self.id}: a {self.measure.value} is a proportion between 0 and 1")
        return self

    @model_validator(mode="after")
    def _remission_option_is_cited(self) -> Benchmark:
        if self.remission_option is None:
            return self
        if self.measure != Measure.REMISSION:
            raise ValueError(f"{self.id}: only a remission figure names a remission option")
        options = [o.id for o in outcome_rules(self.instrument).remission.options]
        if self.remission_option not in options:
            raise ValueError(
                f"{self.id}: remission option {self.remission_option!r} is not one of "
                f"{self.instrument}'s options in outcomes.yaml ({', '.join(options)})"
            )
        return self

    @property
    def outcome_policy(self) -> OutcomePolicy:
        """The outcome definitions under which this figure was measured (remission option)."""
        if self.remission_option is None:
            return OutcomePolicy()
        return OutcomePolicy(remission={self.instrument: self.remission_option})

    @property
    def is_proportion(self) -> bool:
        return self.measure in PROPORTION_MEASURES

    @property
    def events(self) -> int | None:
        """Patients with the outcome, rounded from value x n where the arm size is known."""
        if self.n is None or not self.is_proportion:
            return None
        return round(self.value * self.n)


class EvidenceFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    benchmarks: tuple[Benchmark, ...]

    @model_validator(mode="after")
    def _unique_ids(self) -> EvidenceFile:
        ids = [b.id for b in self.benchmarks]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate benchmark ids: {', '.join(duplicates)}")
        return self


def load_evidence() -> EvidenceFile:
    return load_knowledge("ketaclinic.clinical", "evidence.yaml", EvidenceFile)


def all_benchmarks() -> tuple[Benchmark, ...]:
    return load_evidence().benchmarks


def benchmark(benchmark_id: str) -> Benchmark:
    """The published figure with this id; NotFound names the ids that exist."""
    for item in all_benchmarks():
        if item.id == benchmark_id:
            return item
    known = ", ".join(b.id for b in all_benchmarks())
    raise NotFound(f"No published benchmark '{benchmark_id}'. Known benchmarks: {known}.")


def find_benchmarks(
    *,
    measure: Measure | None = None,
    timepoint: Timepoint | None = None,
    route: Route | None = None,
    instrument: str | None = None,
) -> tuple[Benchmark, ...]:
    """Benchmarks matching every given filter, in file order."""
    return tuple(
        b
        for b in all_benchmarks()
        if (measure is None or b.measure == measure)
        and (timepoint is None or b.timepoint == timepoint)
        and (route is None or b.route == route)
        and (instrument is None or b.instrument == instrument)
    )
