"""Figures of the cohort report (matplotlib, no display needed)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ketaclinic.analytics.cohorts import CohortResults

TIMEPOINT_ORDER = ["hours_24", "end_of_induction", "week_4", "week_8"]
TIMEPOINT_LABEL = {
    "hours_24": "24 h",
    "end_of_induction": "End of induction",
    "week_4": "Week 4",
    "week_8": "Week 8",
}


def _errors(frame: pd.DataFrame, prefix: str) -> np.ndarray:
    estimate = frame[prefix].to_numpy(float)
    return np.vstack(
        [
            estimate - frame[f"{prefix}_low"].to_numpy(float),
            frame[f"{prefix}_high"].to_numpy(float) - estimate,
        ]
    )


def _nothing_to_show(ax: Axes, message: str) -> None:
    """A small clinic (or a new registry) may have no responder or no adverse event yet: the
    figure says so instead of drawing empty axes."""
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=9, transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def outcomes_over_time(results: CohortResults) -> Figure:
    overall = results.outcomes[results.outcomes.dimension == "all"]
    instruments = sorted(overall.instrument.unique())
    fig, axes = plt.subplots(
        1, max(1, len(instruments)), figsize=(5 * max(1, len(instruments)), 3.6), squeeze=False
    )
    if not instruments:
        _nothing_to_show(axes[0][0], "No scored course with a baseline yet.")
    for ax, instrument in zip(axes[0], instruments, strict=False):
        part = (
            overall[overall.instrument == instrument]
            .set_index("timepoint")
            .reindex(TIMEPOINT_ORDER)
            .dropna(subset=["n"])
        )
        x = np.arange(len(part))
        for offset, prefix, label in (
            (-0.18, "response", "Response"),
            (0.18, "remission", "Remission"),
        ):
            ax.bar(
                x + offset,
                part[prefix],
                width=0.34,
                label=label,
                yerr=_errors(part, prefix),
                capsize=3,
            )
        ax.set_xticks(x, [TIMEPOINT_LABEL[t] for t in part.index], fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_title(f"{instrument}: response and remission (95% CI)", fontsize=9)
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def end_of_induction_by(results: CohortResults, dimensions: list[str]) -> Figure:
    frame = results.outcomes[
        (results.outcomes.timepoint == "end_of_induction")
        & results.outcomes.dimension.isin(dimensions)
    ]
    frame = frame.sort_values(["dimension", "instrument", "value"]).reset_index(drop=True)
    height = max(3.0, 0.28 * len(frame) + 1)
    fig, ax = plt.subplots(figsize=(8, height))
    if frame.empty:
        _nothing_to_show(ax, "No end-of-induction score yet.")
        return fig
    y = np.arange(len(frame))[::-1]
    ax.errorbar(
        frame.response, y, xerr=_errors(frame, "response"), fmt="o", capsize=3, label="Response"
    )
    ax.errorbar(
        frame.remission,
        y - 0.25,
        xerr=_errors(frame, "remission"),
        fmt="s",
        capsize=3,
        label="Remission",
    )
    labels = [
        f"{d}: {v} ({i}, n={n})"
        for d, v, i, n in zip(frame.dimension, frame.value, frame.instrument, frame.n, strict=True)
    ]
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_title("End of induction: response and remission by subgroup (95% CI)", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def durability_curves(results: CohortResults) -> Figure:
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for label, curve in results.durability.items():
        if not (label == "all" or label.startswith("protocol=")):
            continue
        ax.step(
            curve.timeline_days,
            curve.survival,
            where="post",
            label=f"{label} (n={curve.responders})",
        )
        ax.fill_between(
            curve.timeline_days, curve.survival_low, curve.survival_high, step="post", alpha=0.15
        )
    if not ax.lines:
        _nothing_to_show(ax, "No responder yet: no time to relapse to show.")
        return fig
    ax.set_xlabel("Days since first response")
    ax.set_ylabel("Free of relapse")
    ax.set_ylim(0, 1.02)
    ax.set_title("Durability: Kaplan-Meier time to relapse after response (95% CI)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def comparison_forest(comparison: pd.DataFrame) -> Figure:
    rows = comparison[comparison.measure != "median_days_to_relapse"].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(11, max(3.0, 0.42 * len(rows) + 1)))
    y = np.arange(len(rows))[::-1]
    clinic_err = np.vstack([rows.clinic - rows.clinic_low, rows.clinic_high - rows.clinic]).astype(
        float
    )
    ax.errorbar(
        rows.clinic,
        y + 0.12,
        xerr=np.nan_to_num(clinic_err),
        fmt="o",
        capsize=3,
        label="This clinic",
    )
    pub_low = rows.published_low.astype(float).fillna(rows.published)
    pub_high = rows.published_high.astype(float).fillna(rows.published)
    pub_err = np.vstack([rows.published - pub_low, pub_high - rows.published]).astype(float)
    ax.errorbar(rows.published, y - 0.12, xerr=pub_err, fmt="D", capsize=3, label="Published")
    marks = ["*" if b == "all participants" else "" for b in rows.published_interval_basis]
    labels = [f"{t}{m} [{v}]" for t, m, v in zip(rows.label, marks, rows.verdict, strict=True)]
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_title(
        "This clinic beside published results (95% CI; * = published CI from all participants)",
        fontsize=9,
    )
    ax.legend(fontsize=8)
    # Long study labels on the left: a fixed margin keeps them whole.
    fig.subplots_adjust(left=0.45, right=0.98)
    return fig


def safety_overview(results: CohortResults) -> Figure:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    # Per term at any seriousness (patients_with_term), never the sum over seriousness, which
    # would count twice a patient who had the term both serious and not.
    events = results.adverse_events.groupby(["route", "term"], as_index=False).agg(
        patients_with=("patients_with_term", "first"), patients=("patients", "first")
    )
    routes = sorted(events.route.unique())
    terms = sorted(events.term.unique())
    width = 0.8 / max(1, len(routes))
    for index, route in enumerate(routes):
        part = events[events.route == route].set_index("term").reindex(terms)
        share = (part.patients_with / part.patients).to_numpy(float)
        left.barh(
            np.arange(len(terms)) + index * width, np.nan_to_num(share), height=width, label=route
        )
    left.set_title("Patients with each adverse event, by route", fontsize=9)
    if terms:
        left.set_yticks(np.arange(len(terms)) + width * (len(routes) - 1) / 2, terms, fontsize=7)
        left.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        left.legend(fontsize=7)
    else:
        _nothing_to_show(left, "No adverse event recorded.")
    bp = results.bp_alerts
    x = np.arange(len(bp))
    right.bar(
        x - 0.2,
        bp.per_session,
        width=0.4,
        yerr=_errors(bp, "per_session"),
        capsize=3,
        label="BP alert, per session",
    )
    drop = results.dropout.set_index("protocol_id").reindex(bp.protocol_id)
    right.bar(
        x + 0.2,
        drop.dropout,
        width=0.4,
        yerr=_errors(drop, "dropout"),
        capsize=3,
        label="Drop-out, per course",
    )
    right.set_title("Blood-pressure alerts and drop-out (95% CI)", fontsize=9)
    if len(bp):
        right.set_xticks(x, bp.protocol_id, fontsize=7, rotation=15)
        right.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        right.legend(fontsize=7)
    else:
        _nothing_to_show(right, "No session given yet.")
    fig.tight_layout()
    return fig


def all_figures(results: CohortResults, comparison: pd.DataFrame) -> list[tuple[str, Figure]]:
    figures = [
        ("Response and remission over the course", outcomes_over_time(results)),
        (
            "By protocol, route and dose",
            end_of_induction_by(results, ["protocol", "route", "dose"]),
        ),
        (
            "By indication, age band and sex",
            end_of_induction_by(results, ["indication", "age_band", "sex"]),
        ),
        ("Durability", durability_curves(results)),
        ("Safety", safety_overview(results)),
    ]
    if not comparison.empty:
        figures.insert(1, ("Compared with published results", comparison_forest(comparison)))
    return figures


def close_all(figures: list[tuple[str, Figure]]) -> None:
    for _, figure in figures:
        plt.close(figure)


def format_share(value: float) -> str:
    return (
        "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.1%}"
    )
