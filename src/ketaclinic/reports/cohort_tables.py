"""The cohort report's data and its tables as formatted text, shared by the HTML and the PDF."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ketaclinic.analytics.cohorts import CohortResults
from ketaclinic.analytics.durability import describe_median
from ketaclinic.analytics.instruments import PRIMARY_DEPRESSION, primary_depression_rule
from ketaclinic.reports.cohort_plots import TIMEPOINT_LABEL

VERDICT_RULE = (
    "Verdict: the clinic's 95% Wilson interval is compared with the published figure's 95% "
    "Wilson interval, from the arm size where the source gives it, from all participants where "
    "only that is recorded (marked *: narrower than the true interval), otherwise the published "
    "point. In line = they overlap (no clear difference, not proof of equivalence); above or "
    "below = no overlap. A figure from another population or design is context, not a target."
)


def primary_rule_text() -> str:
    order = ", ".join(primary_depression_rule().order)
    return (
        f"A course scored on several depression scales counts once wherever scales are pooled "
        f"(rows '{PRIMARY_DEPRESSION}', published figures pooling scales, durability for all, by "
        f"protocol and by route): on the first of {order} it has a baseline and a later score "
        "on. Each named scale also has its own rows."
    )


@dataclass(frozen=True)
class CohortReport:
    results: CohortResults
    comparison: pd.DataFrame
    dataset_note: str


def _pct(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{float(value):.1%}"


def _days(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{float(value):g} d"


def _triple(values: tuple[float, float, float]) -> str:
    return f"{_pct(values[0])} ({_pct(values[1])}–{_pct(values[2])})"


def _interval(row: Any, prefix: str) -> str:
    return f"{_pct(row[prefix])} ({_pct(row[prefix + '_low'])}–{_pct(row[prefix + '_high'])})"


def report_tables(report: CohortReport) -> dict[str, list[dict[str, str]]]:
    """Every table of the report as rows of formatted cells (HTML and PDF show the same)."""
    results = report.results
    outcomes = []
    for _, row in results.outcomes.iterrows():
        outcomes.append(
            {
                "dimension": row.dimension,
                "value": row.value,
                "instrument": row.instrument,
                "timepoint": TIMEPOINT_LABEL.get(row.timepoint, row.timepoint),
                "n": str(row.n),
                "response": _interval(row, "response"),
                "remission": _interval(row, "remission"),
                "worsening": _interval(row, "worsening"),
            }
        )
    comparison = []
    for _, row in report.comparison.iterrows():
        is_days = row.measure == "median_days_to_relapse"
        fmt = _days if is_days else _pct
        published = fmt(row.published)
        if row.published_low is not None and not math.isnan(row.published_low):
            published += f" ({fmt(row.published_low)}–{fmt(row.published_high)})"
            if row.published_interval_basis == "all participants":
                published += "*"
        comparison.append(
            {
                "label": row.label,
                "design": row.design,
                "citation": row.citation + ("" if row.verified else " — figure unverified"),
                "published": published,
                "clinic": f"{fmt(row.clinic)} ({fmt(row.clinic_low)}–{fmt(row.clinic_high)}), "
                f"n={row.clinic_n}",
                "verdict": row.verdict,
            }
        )
    durability = [
        {
            "group": label,
            "responders": str(curve.responders),
            "relapses": str(curve.relapses),
            "median": describe_median(curve),
            "day28": _triple(curve.free_of_relapse[28]),
            "day56": _triple(curve.free_of_relapse[56]),
        }
        for label, curve in results.durability.items()
    ]
    adverse = [
        {
            "route": row.route,
            "term": row.term,
            "serious": "serious" if row.serious else "not serious",
            "events": str(row.events),
            "per_session": _interval(row, "per_session"),
            "per_patient": _interval(row, "per_patient"),
        }
        for _, row in results.adverse_events.iterrows()
    ]
    bp = [
        {
            "protocol": row.protocol_id,
            "sessions": str(row.sessions),
            "per_session": _interval(row, "per_session"),
            "per_patient": _interval(row, "per_patient"),
        }
        for _, row in results.bp_alerts.iterrows()
    ]
    dropout = [
        {
            "protocol": row.protocol_id,
            "courses": str(row.courses),
            "dropout": _interval(row, "dropout"),
        }
        for _, row in results.dropout.iterrows()
    ]
    return {
        "outcomes": outcomes,
        "comparison": comparison,
        "durability": durability,
        "adverse": adverse,
        "bp": bp,
        "dropout": dropout,
    }
