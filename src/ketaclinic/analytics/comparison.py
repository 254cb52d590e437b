"""The clinic's outcomes beside the published figures, with both intervals and a verdict.

Verdict rule (stated in the report): compare the clinic's 95% Wilson interval with the published
figure's 95% Wilson interval, computed from the arm size where the source gives it; where only
the number of all participants is recorded, from that number (an interval narrower than the true
one, so the verdict errs towards "above"/"below"); otherwise the published point. "in line" when
they overlap, "above" when the clinic's whole interval lies above, "below" when it lies wholly
below. Overlap is a conservative test: "in line" means "no clear difference", not "equivalent".
A published figure from a different population, design or instrument is a context, not a target;
the panel shows each figure's design beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from ketaclinic.analytics.durability import KaplanMeier
from ketaclinic.analytics.instruments import PRIMARY_DEPRESSION
from ketaclinic.analytics.stats import wilson
from ketaclinic.clinical.evidence import Benchmark, Measure, Timepoint, all_benchmarks

# The clinic timepoint each published timepoint is read against (esketamine's day 28 is the end
# of its four-week induction).
_CLINIC_TIMEPOINT = {
    Timepoint.HOURS_24: Timepoint.HOURS_24,
    Timepoint.END_OF_INDUCTION: Timepoint.END_OF_INDUCTION,
    Timepoint.DAY_28: Timepoint.END_OF_INDUCTION,
}
_COLUMN = {
    Measure.RESPONSE: "responders",
    Measure.REMISSION: "remitters",
    Measure.WORSENING: "worsened",
}
# For worsening a higher share is worse; the verdict words stay neutral ("above"), this says which
# direction is the good one.
HIGHER_IS_BETTER = {Measure.RESPONSE: True, Measure.REMISSION: True, Measure.WORSENING: False}


@dataclass(frozen=True)
class ComparisonRow:
    benchmark_id: str
    label: str
    measure: str
    timepoint: str
    route: str
    instrument: str
    design: str
    citation: str
    verified: bool
    published: float
    published_low: float | None
    published_high: float | None
    published_interval_basis: str  # "arm", "all participants" (approximate), "point only"
    clinic_events: int
    clinic_n: int
    clinic: float
    clinic_low: float
    clinic_high: float
    verdict: str  # "in line", "above", "below", "no clinic data"
    higher_is_better: bool | None


def verdict(
    clinic_low: float, clinic_high: float, published_low: float, published_high: float
) -> str:
    if math.isnan(clinic_low):
        return "no clinic data"
    if clinic_low > published_high:
        return "above"
    if clinic_high < published_low:
        return "below"
    return "in line"


def _published_interval(
    item: Benchmark,
) -> tuple[float, float, float | None, float | None, str]:
    denominator, basis = (
        (item.n, "arm") if item.n is not None else (item.n_total, "all participants")
    )
    if denominator is not None and item.is_proportion:
        interval = wilson(round(item.value * denominator), denominator)
        return interval.low, interval.high, interval.low, interval.high, basis
    return item.value, item.value, None, None, "point only"


def _row(
    item: Benchmark,
    events: int,
    n: int,
    estimate: float,
    low: float,
    high: float,
    better: bool | None,
) -> ComparisonRow:
    pub_low, pub_high, shown_low, shown_high, basis = _published_interval(item)
    return ComparisonRow(
        benchmark_id=item.id,
        label=item.label,
        measure=item.measure.value,
        timepoint=item.timepoint.value,
        route=item.route.value,
        instrument=item.instrument,
        design=item.design,
        citation=item.source.short(),
        verified=item.source.verified,
        published=item.value,
        published_low=shown_low,
        published_high=shown_high,
        published_interval_basis=basis,
        clinic_events=events,
        clinic_n=n,
        clinic=estimate,
        clinic_low=low,
        clinic_high=high,
        verdict=verdict(low, high, pub_low, pub_high),
        higher_is_better=better,
    )


def compare_with_evidence(
    outcomes: pd.DataFrame, durability: dict[str, KaplanMeier]
) -> list[ComparisonRow]:
    """One row per published figure the clinic's data can be read against."""
    by_route = outcomes[outcomes.dimension == "route"]
    rows: list[ComparisonRow] = []
    for item in all_benchmarks():
        clinic_timepoint = _CLINIC_TIMEPOINT.get(item.timepoint)
        if item.measure in _COLUMN and clinic_timepoint is not None:
            # A figure pooling trials with different depression scales is read against each
            # course once, on its primary depression scale (analytics.instruments).
            instrument = PRIMARY_DEPRESSION if item.instrument == "mixed" else item.instrument
            chosen = by_route[
                (by_route.value == item.route.value)
                & (by_route.timepoint == clinic_timepoint.value)
                & (by_route.instrument == instrument)
            ]
            events, n = int(chosen[_COLUMN[item.measure]].sum()), int(chosen.n.sum())
            interval = wilson(events, n)
            rows.append(
                _row(
                    item,
                    events,
                    n,
                    interval.estimate,
                    interval.low,
                    interval.high,
                    HIGHER_IS_BETTER[item.measure],
                )
            )
        elif item.measure == Measure.MEDIAN_DAYS_TO_RELAPSE:
            curve = durability.get(f"route={item.route.value}")
            if curve is None:
                continue
            rows.append(
                _row(
                    item,
                    curve.relapses,
                    curve.responders,
                    curve.median_days,
                    curve.median_low,
                    curve.median_high,
                    True,
                )
            )
    return rows


def comparison_frame(rows: list[ComparisonRow]) -> pd.DataFrame:
    return pd.DataFrame([row.__dict__ for row in rows])
