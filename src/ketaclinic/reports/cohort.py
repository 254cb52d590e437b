"""The cohort report: one self-contained HTML page and a PDF, from a research-dataset folder.

The HTML carries its figures as inline PNG and its styles inline, so it can be mailed or archived
without the app; the web app's research page shows the same body under its own layout. The PDF
holds the same summary, tables and figures (``cohort_pdf``).
"""

from __future__ import annotations

import base64
import io
import json
from importlib import resources
from pathlib import Path
from typing import IO, Any

from jinja2 import Environment, select_autoescape
from markupsafe import Markup
from matplotlib.figure import Figure

from ketaclinic import CLINICAL_DISCLAIMER
from ketaclinic.analytics.cohorts import analyse_cohort
from ketaclinic.analytics.comparison import compare_with_evidence, comparison_frame
from ketaclinic.analytics.dataset import Engine, open_dataset
from ketaclinic.interop.registry import PRODUCER as REGISTRY_PRODUCER
from ketaclinic.reports.cohort_pdf import write_pdf
from ketaclinic.reports.cohort_plots import all_figures, close_all
from ketaclinic.reports.cohort_tables import (
    VERDICT_RULE,
    CohortReport,
    primary_rule_text,
    report_tables,
)

__all__ = [
    "VERDICT_RULE",
    "CohortReport",
    "build_report",
    "cohort_report_body",
    "cohort_report_html",
    "cohort_report_pdf",
    "write_cohort_report",
]
DEFAULT_TITLE = "Cohort outcomes report"


def build_report(folder: Path, engine: Engine = "duckdb", *, backend: Any = None) -> CohortReport:
    """Analyse the research dataset in ``folder`` and pair it with the published figures."""
    results = analyse_cohort(open_dataset(folder, engine, backend=backend))
    comparison = comparison_frame(compare_with_evidence(results.outcomes, results.durability))
    return CohortReport(results=results, comparison=comparison, dataset_note=_dataset_note(folder))


def _dataset_note(folder: Path) -> str:
    """Where the data came from, from the producer's ``dataset.json`` (docs/research-dataset.md)."""
    manifest = folder / "dataset.json"
    if not manifest.exists():
        return ""
    meta = json.loads(manifest.read_text(encoding="utf-8"))
    if meta.get("generator"):
        return (
            f"Synthetic data ({meta.get('generator')}, seed {meta.get('seed')}): no real "
            "person is described; outcome rates were calibrated to the published figures "
            "they are compared with."
        )
    if meta.get("producer") == REGISTRY_PRODUCER:
        return (
            f"De-identified registry of clinic site {meta.get('site_id')}, exported on "
            f"{meta.get('exported_on')}: {meta.get('patients')} patients with a research consent "
            f"in force; {meta.get('left_out_without_research_consent')} without one were left out."
        )
    return ""


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _template(name: str) -> str:
    return (
        resources.files("ketaclinic.reports")
        .joinpath("templates", name)
        .read_text(encoding="utf-8")
    )


def _environment() -> Environment:
    return Environment(autoescape=select_autoescape(default=True, default_for_string=True))


def render_body(report: CohortReport, figures: list[tuple[str, Figure]]) -> Markup:
    """Everything under the title: notes, comparison, figures, tables (escaped HTML)."""
    body = (
        _environment()
        .from_string(_template("cohort_report_body.html"))
        .render(
            results=report.results,
            disclaimer=CLINICAL_DISCLAIMER,
            dataset_note=report.dataset_note,
            verdict_rule=VERDICT_RULE,
            primary_rule=primary_rule_text(),
            tables=report_tables(report),
            figures=[(heading, _png(figure)) for heading, figure in figures],
        )
    )
    # Safe: rendered by an autoescaping environment just above.
    return Markup(body)


def render_html(report: CohortReport, figures: list[tuple[str, Figure]], title: str) -> str:
    return (
        _environment()
        .from_string(_template("cohort_report.html"))
        .render(title=title, body=render_body(report, figures))
    )


def cohort_report_html(report: CohortReport, title: str = DEFAULT_TITLE) -> str:
    """The report as one self-contained HTML page (styles and figures inline)."""
    figures = all_figures(report.results, report.comparison)
    try:
        return render_html(report, figures, title)
    finally:
        close_all(figures)


def cohort_report_body(report: CohortReport) -> Markup:
    """The report's body for a page that brings its own title, layout and styles."""
    figures = all_figures(report.results, report.comparison)
    try:
        return render_body(report, figures)
    finally:
        close_all(figures)


def cohort_report_pdf(report: CohortReport, target: Path | IO[bytes], title: str) -> None:
    figures = all_figures(report.results, report.comparison)
    try:
        write_pdf(report, figures, target, title)
    finally:
        close_all(figures)


def write_cohort_report(
    report: CohortReport, out: Path, *, title: str = DEFAULT_TITLE
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
