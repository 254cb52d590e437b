"""A score trajectory drawn server-side (matplotlib, Agg): the scores over time with the response
and remission lines of the instrument's outcome rules, for the progress report and the portal.

The lines come from ``clinical.outcomes`` (data with sources), never from numbers written here:
the response line is the course baseline less the response rule's reduction, the remission line
the cut-off the course outcome was judged by (the clinic's choice, see services.outcome_policy).
Without an outcome the first score stands for the baseline and the default cut-off is drawn.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt

from ketaclinic.clinical.outcomes import (
    CourseOutcome,
    RemissionOption,
    outcome_rules,
    remission_cutoff,
)
from ketaclinic.errors import NotFound


@dataclass(frozen=True)
class ReferenceLines:
    """Where "response" and "remission" lie on the chart for this baseline (None: not defined)."""

    response_at_or_below: float | None
    remission_below: float | None
    remission_op: str | None


def reference_lines(
    instrument_id: str, baseline_total: float | None, remission: RemissionOption | None = None
) -> ReferenceLines:
    try:
        rules = outcome_rules(instrument_id)
    except NotFound:
        return ReferenceLines(None, None, None)
    response: float | None = None
    if baseline_total is not None and baseline_total > 0:
        if rules.response.type == "percent_reduction":
            response = baseline_total * (1 - rules.response.value / 100)
        else:
            response = baseline_total - rules.response.value
    remission = remission or remission_cutoff(instrument_id)
    return ReferenceLines(response, remission.value, str(remission.op))


def trajectory_image(
    title: str,
    times: Sequence[datetime],
    totals: Sequence[float],
    *,
    instrument_id: str,
    max_total: float | None,
    image_format: str = "png",
    plain_words: bool = False,
    outcome: CourseOutcome | None = None,
) -> bytes:
    """The chart as PNG or SVG bytes. ``plain_words`` labels the lines for a patient.
    ``outcome``: the course outcome, whose baseline and remission rule the lines follow."""
    if outcome is not None:
        baseline = outcome.baseline.total if outcome.baseline else None
        lines = reference_lines(instrument_id, baseline, outcome.remission_rule)
    else:
        lines = reference_lines(instrument_id, totals[0] if totals else None)
    figure, axes = plt.subplots(figsize=(7.0, 3.4), dpi=110)
    try:
        axes.plot(
            list(times),  # type: ignore[arg-type]  # matplotlib converts datetimes itself
            list(totals), marker="o", color="#0b4f8a", linewidth=2,
            label="Your score" if plain_words else "Total score",
        )  # fmt: skip
        if lines.response_at_or_below is not None:
            axes.axhline(lines.response_at_or_below, color="#1d6b35", linestyle="--", label=(
                "Half of where you started" if plain_words else "Response threshold"))  # fmt: skip
        if lines.remission_below is not None:
            axes.axhline(lines.remission_below, color="#a4161a", linestyle=":", label=(
                "Few or no symptoms below this" if plain_words
                else f"Remission ({lines.remission_op} {lines.remission_below:g})"))  # fmt: skip
        axes.set_title(title)
        axes.set_ylabel("Score (lower is better)")
        if max_total is not None:
            axes.set_ylim(0, max_total)
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%d %b %Y"))  # type: ignore[no-untyped-call]
        figure.autofmt_xdate()
        axes.grid(True, alpha=0.3)
        axes.legend(loc="upper right", fontsize=8)
        figure.tight_layout()
        buffer = io.BytesIO()
        # SVG without a random id or date so the same data gives the same image.
        metadata = {"Date": None} if image_format == "svg" else {"Software": None}
        figure.savefig(buffer, format=image_format, metadata=metadata)
    finally:
        plt.close(figure)
    return buffer.getvalue()
