"""Durability: Kaplan-Meier time from first response to relapse (lifelines).

The engine sends back counts per (group, whole days, relapsed or censored) rather than one row per
patient, and lifelines fits with those counts as weights: the same curve from a few hundred rows
whether the network holds a thousand responders or a million.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

# Days after the first response at which the report reads the share still free of relapse.
READ_AT_DAYS = (28, 56)


@dataclass(frozen=True)
class KaplanMeier:
    label: str
    responders: int
    relapses: int
    median_days: float  # inf when fewer than half relapsed
    median_low: float
    median_high: float
    # days -> (share free of relapse, low, high)
    free_of_relapse: dict[int, tuple[float, float, float]]
    timeline_days: list[float]
    survival: list[float]
    survival_low: list[float]
    survival_high: list[float]


def fit_kaplan_meier(label: str, durations: pd.DataFrame) -> KaplanMeier | None:
    """Fit on columns duration_days, relapsed, courses (a count used as weight)."""
    usable = durations[durations.courses > 0]
    if usable.empty:
        return None
    fitter = KaplanMeierFitter(label=label)
    with warnings.catch_warnings():
        # lifelines warns that integer weights are unusual; here they are exact counts.
        warnings.simplefilter("ignore")
        fitter.fit(
            usable.duration_days.to_numpy(float),
            event_observed=usable.relapsed.to_numpy(bool),
            weights=usable.courses.to_numpy(float),
        )
    bounds = fitter.confidence_interval_survival_function_
    medians = median_survival_times(fitter.confidence_interval_)
    free: dict[int, tuple[float, float, float]] = {}
    for day in READ_AT_DAYS:
        until = bounds.loc[:day]
        estimate = float(fitter.survival_function_at_times(day).iloc[0])
        free[day] = (estimate, float(until.iloc[-1, 0]), float(until.iloc[-1, 1]))
    return KaplanMeier(
        label=label,
        responders=int(usable.courses.sum()),
        relapses=int(usable.courses[usable.relapsed].sum()),
        median_days=float(fitter.median_survival_time_),
        median_low=float(medians.iloc[0, 0]),
        median_high=float(medians.iloc[0, 1]),
        free_of_relapse=free,
        timeline_days=[float(x) for x in fitter.survival_function_.index],
        survival=[float(x) for x in fitter.survival_function_.iloc[:, 0]],
        survival_low=[float(x) for x in bounds.iloc[:, 0]],
        survival_high=[float(x) for x in bounds.iloc[:, 1]],
    )


def kaplan_meier_by(durations: pd.DataFrame, dimensions: list[str]) -> dict[str, KaplanMeier]:
    """Curves for everyone ("all") and per value of each other dimension ("protocol=...")."""
    curves: dict[str, KaplanMeier] = {}
    frame = durations.copy()
    frame["relapsed"] = frame.relapsed.astype(bool)
    for dimension in dimensions:
        if dimension == "all":
            groups: list[tuple[str, pd.DataFrame]] = [("all", frame)]
        else:
            groups = [(f"{dimension}={value}", part) for value, part in frame.groupby(dimension)]
        for label, part in groups:
            summed = part.groupby(["duration_days", "relapsed"], as_index=False).courses.sum()
            curve = fit_kaplan_meier(label, summed)
            if curve is not None:
                curves[label] = curve
    return curves


def describe_median(curve: KaplanMeier) -> str:
    if math.isinf(curve.median_days):
        return "not reached"
    low = "?" if np.isnan(curve.median_low) else f"{curve.median_low:g}"
    high = "not reached" if math.isinf(curve.median_high) else f"{curve.median_high:g}"
    return f"{curve.median_days:g} days (95% CI {low}-{high})"
