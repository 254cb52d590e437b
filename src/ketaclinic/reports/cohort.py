"""The cohort report: one self-contained HTML page and a PDF, from a research-dataset folder.

The HTML carries its figures as inline PNG and its styles inline, so it can be mailed or archived
without the app. The PDF holds the same figures and tables (matplotlib's PdfPages).
"""

from __future__ import annotations

import base64
import io
import json
import math
import textwrap
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from jinja2 import Environment, select_autoescape
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from ketaclinic import CLINICAL_DISCLAIMER
from ketaclinic.analytics.cohorts import CohortResults, analyse_cohort
from ketaclinic.analytics.comparison import compare_with_evidence, comparison_frame
from ketaclinic.analytics.dataset import Engine, open_dataset
from ketaclinic.analytics.durability import describe_median
from ketaclinic.reports.cohort_plots import TIMEPOINT_LABEL, all_figures, close_all

VERDICT_RULE = (
    "Verdict: the clinic's 95% Wilson interval is compared with the published figure's 95% "
    "Wilson interval, from the arm size where the source gives it, from all participants where "
    "only that is recorded (marked *: narrower than the true interval), otherwise the published "
    "point. In line = they overlap (no clear difference, not proof of equivalence); above or "
    "below = no overlap. A figure from another population or design is context, not a target."
)


@dataclass(frozen=True)
class CohortReport:
    results: CohortResults
    comparison: pd.DataFrame
    dataset_note: str


def build_report(folder: Path, engine: Engine = "duckdb", *, backend: Any = None) -> CohortReport:
    """Analyse the research dataset in ``folder`` and pair it with the published figures."""
    results = analyse_cohort(open_dataset(folder, engine, backend=backend))
    comparison = comparison_frame(compare_with_evidence(results.outcomes, results.durability))
    note = ""
    manifest = folder / "dataset.json"
    if manifest.exists():
        meta = json.loads(manifest.read_text(encoding="utf-8"))
        if meta.get("generator"):
            note = (
                f"Synthetic data ({meta.get('generator')}, seed {meta.get('seed')}): no real "
                "person is described; outcome rates were calibrated to the published figures "
                "they are compared with."
            )
    return CohortReport(results=results, comparison=comparison, dataset_note=note)


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


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


def _tables(report: CohortReport) -> dict[str, list[dict[str, str]]]:
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


def _template() -> str:
    return (
        resources.files("ketaclinic.reports")
        .joinpath("templates", "cohort_report.html")
        .read_text(encoding="utf-8")
    )


def render_html(report: CohortReport, figures: list[tuple[str, Figure]], title: str) -> str:
    env = Environment(autoescape=select_autoescape(default=True))
    return env.from_string(_template()).render(
        title=title,
        results=report.results,
        disclaimer=CLINICAL_DISCLAIMER,
        dataset_note=report.dataset_note,
        verdict_rule=VERDICT_RULE,
        tables=_tables(report),
        figures=[(heading, _png(figure)) for heading, figure in figures],
    )


def cohort_report_html(report: CohortReport, title: str = "Cohort outcomes report") -> str:
    """The report as one self-contained HTML page (for the web app to serve as it is)."""
    figures = all_figures(report.results, report.comparison)
    try:
        return render_html(report, figures, title)
    finally:
        close_all(figures)


def _text_page(lines: list[str]) -> Figure:
    figure = plt.figure(figsize=(8.27, 11.69))
    figure.text(0.06, 0.96, "\n".join(lines), va="top", fontsize=8, family="monospace", wrap=True)
    return figure


def write_pdf(
    report: CohortReport, figures: list[tuple[str, Figure]], path: Path, title: str
) -> None:
    tables = _tables(report)
    summary = [
        title,
        "",
        f"{report.results.patients} patients, {report.results.courses} courses",
        CLINICAL_DISCLAIMER,
    ]
    if report.dataset_note:
        summary.append(report.dataset_note)
    summary += ["", VERDICT_RULE, "", "Compared with published results:"]
    for row in tables["comparison"]:
        summary.append(
            f"- {row['label']}: published {row['published']}; "
            f"clinic {row['clinic']} -> {row['verdict']}"
        )
    summary += ["", "Durability:"]
    summary += [
        f"- {r['group']}: median {r['median']}; free of relapse at 28 d {r['day28']}"
        for r in tables["durability"]
    ]
    wrapped = [piece for line in summary for piece in (textwrap.wrap(line, 110) or [""])]
    with PdfPages(path) as pdf:
        first = _text_page(wrapped)
        pdf.savefig(first)
        plt.close(first)
        for _, figure in figures:
            pdf.savefig(figure)


def write_cohort_report(
    report: CohortReport, out: Path, *, title: str = "Cohort outcomes report"
) -> tuple[Path, Path]:
    """Write ``<out>.html`` and ``<out>.pdf`` (``out`` may end in either) and return both paths."""
    stem = out.with_suffix("") if out.suffix.lower() in (".html", ".pdf") else out
    html_path, pdf_path = stem.with_suffix(".html"), stem.with_suffix(".pdf")
    html_path.parent.mkdir(parents=True, exist_ok=True)
    figures = all_figures(report.results, report.comparison)
    try:
        html_path.write_text(render_html(report, figures, title), encoding="utf-8")
        write_pdf(report, figures, pdf_path, title)
    finally:
        close_all(figures)
    return html_path, pdf_path
