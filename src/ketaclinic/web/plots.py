"""Plots for the clinician pages, drawn server-side with matplotlib (Agg) as PNG.

Served by their own routes (``<img src>``), so a page's HTML renders without waiting for the
drawing and the browser fetches the images in parallel. PNG rather than inline SVG because
matplotlib's SVG carries inline styles that the Content-Security-Policy (``style-src 'self'``)
would block. Every
plot has a text alternative built by the caller (and the numbers are in a table beside it), and
lines differ by dash pattern and label as well as colour, so colour is never the only signal.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from ketaclinic.clinical.outcomes import (
    CourseOutcome,
    outcome_rules,
    remission_cutoff,
)
from ketaclinic.clinical.protocols import Product, get_protocol
from ketaclinic.clinical.record import Identity
from ketaclinic.pharmacology import (
    Covariates,
    Dose,
    Prediction,
    Regimen,
    plot_concentration,
    predict_concentration,
)
from ketaclinic.services.chart import VitalsRow
from ketaclinic.services.measurement import TrajectoryPoint
from ketaclinic.services.plan_records import PlanRecord

# Which published PK model draws a plan's curve. An engineering choice, not a clinical number:
# esketamine uses the model fitted to the nasal spray in TRD patients; racemic ketamine uses the
# Kamp 2020 meta-analysis (the broadest population; it under-predicts peaks after a bolus, which
# the page states through the model's own notes). The page names the model and its source.
PK_MODEL_FOR_PRODUCT = {Product.ESKETAMINE: "perez-ruixo", Product.RACEMIC_KETAMINE: "kamp"}
# Minutes after the start of dosing at which the curve's "level at discharge" is read: the
# protocol's own monitoring period is not in the plan record, so the page shows the curve over
# the engine's default horizon and reports the metrics it computes.


def _as_days(moments: list[datetime]) -> list[float]:
    """Matplotlib's date numbers (days), so the axes get floats and format them as dates."""
    converted = mdates.date2num(moments)  # type: ignore[no-untyped-call]
    return [float(v) for v in converted]


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


@dataclass(frozen=True)
class ScoreLines:
    """The horizontal lines drawn on a score trajectory, with what they mean."""

    baseline: float | None
    response_at_or_below: float | None
    response_text: str | None
    remission_value: float | None
    remission_text: str | None


def score_lines(instrument_id: str, outcome: CourseOutcome | None) -> ScoreLines:
    """Response line from the baseline and the instrument's response rule; the remission cut-off
    the outcome was judged by (the clinic's choice), or the default without an outcome."""
    try:
        rules = outcome_rules(instrument_id)
        remission = outcome.remission_rule if outcome else remission_cutoff(instrument_id)
    except Exception:
        return ScoreLines(None, None, None, None, None)
    baseline = outcome.baseline.total if outcome and outcome.baseline else None
    response_at: float | None = None
    response_text: str | None = None
    if baseline is not None:
        if rules.response.type == "percent_reduction":
            response_at = baseline * (1 - rules.response.value / 100)
            response_text = f"Response: {rules.response.value:g}% below baseline ({response_at:g})"
        else:
            response_at = baseline - rules.response.value
            response_text = f"Response: {rules.response.value:g} points below baseline"
    remission_text = f"Remission: total {remission.op} {remission.value:g}"
    return ScoreLines(baseline, response_at, response_text, remission.value, remission_text)


def score_trajectory_png(
    instrument_id: str,
    points: list[TrajectoryPoint],
    lines: ScoreLines,
    *,
    course_start: date | None = None,
) -> bytes:
    """The instrument's totals over time with the baseline, response and remission lines."""
    figure, axes = plt.subplots(figsize=(7.0, 3.2))
    moments = _as_days([p.administered_at for p in points])
    axes.plot(moments, [p.total for p in points], marker="o", color="#1f4e79", label="Total")
    if lines.response_at_or_below is not None:
        axes.axhline(
            lines.response_at_or_below, color="#1b7837", linestyle="--", label=lines.response_text
        )
    if lines.remission_value is not None:
        axes.axhline(
            lines.remission_value,
            color="#762a83",
            linestyle=":",
            linewidth=2,
            label=lines.remission_text,
        )
    if course_start is not None:
        start = _as_days([datetime.combine(course_start, datetime.min.time())])[0]
        axes.axvline(start, color="#555555", linestyle="-.", linewidth=1, label="Treatment start")
    axes.set_title(f"{instrument_id.upper()} total over time")
    axes.set_ylabel("Total score")
    axes.set_ylim(bottom=0)
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))  # type: ignore[no-untyped-call]
    figure.autofmt_xdate()
    axes.legend(loc="upper right", fontsize="small")
    axes.grid(alpha=0.3)
    return _png(figure)


# (kind, label, line style) for the vitals trend: blood pressure and heart rate share an axis
# in their own units; SpO2 has its own panel because its range is different.
_TREND_PANELS = (
    (
        ("systolic_mmhg", "Systolic (mmHg)", "-"),
        ("diastolic_mmhg", "Diastolic (mmHg)", "--"),
        ("heart_rate_bpm", "Heart rate (/min)", ":"),
    ),
    (("spo2_percent", "SpO2 (%)", "-"),),
)


def vitals_trend_png(rows: list[VitalsRow]) -> bytes | None:
    """Blood pressure, heart rate and SpO2 over time; None when nothing was recorded.

    A panel is drawn only for measures that have readings; a single moment gets a one-day
    window so the axis shows that day rather than an arbitrary span of years.
    """
    used = [
        series
        for series in _TREND_PANELS
        if any(kind in r.values for r in rows for kind, _, _ in series)
    ]
    if not used:
        return None
    ratios = [3, 1][: len(used)] if len(used) == 2 else [1]
    figure, grid = plt.subplots(
        len(used), 1, figsize=(7.0, 1.4 + 1.4 * sum(ratios)), sharex=True, squeeze=False,
        gridspec_kw={"height_ratios": ratios},
    )  # fmt: skip
    panels = [row[0] for row in grid]
    for axes, series in zip(panels, used, strict=True):
        for kind, label, style in series:
            found = [(r.observed_at, r.values[kind]) for r in rows if kind in r.values]
            if found:
                axes.plot(
                    _as_days([m for m, _ in found]),
                    [v for _, v in found],
                    linestyle=style,
                    marker="o",
                    label=label,
                )
        axes.grid(alpha=0.3)
        axes.legend(loc="upper right", fontsize="small")
    moments = _as_days([r.observed_at for r in rows])
    if max(moments) - min(moments) < 1:
        panels[-1].set_xlim(min(moments) - 0.5, max(moments) + 0.5)
    panels[0].set_title("Vital signs")
    panels[-1].xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d %H:%M"))  # type: ignore[no-untyped-call]
    figure.autofmt_xdate()
    return _png(figure)


@dataclass(frozen=True)
class PlanCurve:
    model_id: str
    model_source: str
    title: str
    prediction: Prediction


def plan_regimen(plan: PlanRecord) -> Regimen:
    """The first session of the plan as a dosing regimen for the PK engine."""
    protocol = get_protocol(plan.protocol_id)
    dose = plan.first_dose
    amount_mg = dose.delivered_dose_mg or dose.dose_mg
    duration_min = dose.duration_min or 0.0
    return Regimen((Dose(protocol.route, amount_mg, 0.0, duration_min),))


def plan_model(plan: PlanRecord) -> tuple[str, str]:
    """The PK model that draws the plan's curve, and its source (no computation)."""
    from ketaclinic.pharmacology import list_models

    model_id = PK_MODEL_FOR_PRODUCT[get_protocol(plan.protocol_id).product]
    source = next(m.spec.source.citation for m in list_models() if m.spec.id == model_id)
    return model_id, source


def plan_curve(plan: PlanRecord, identity: Identity | None, age_years: int | None) -> PlanCurve:
    """The plan's predicted concentration curve (typical subject) with the bands shaded."""
    protocol = get_protocol(plan.protocol_id)
    model_id, source = plan_model(plan)
    covariates = Covariates(
        weight_kg=plan.first_dose.actual_weight_kg,
        age_years=age_years,
        sex=identity.sex if identity is not None else None,
    )
    prediction = predict_concentration(model_id, covariates, plan_regimen(plan))
    return PlanCurve(model_id, source, protocol.name, prediction)


def plan_curve_png(curve: PlanCurve) -> bytes:
    """The curve drawn by the pharmacology engine, with its concentration bands shaded."""
    image = plot_concentration(curve.prediction, image_format="png", title=curve.title)
    assert isinstance(image, bytes)
    return image
