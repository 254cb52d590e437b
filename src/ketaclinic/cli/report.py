"""``ketaclinic report cohort``: the cohort outcomes report as HTML and PDF."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ketaclinic.cli._output import fail, print_json
from ketaclinic.errors import InvalidInput, KetaclinicError

report_app = typer.Typer(
    help="Reports for medical directors and researchers.", no_args_is_help=True
)


@report_app.command("cohort")
def cohort(
    out: Annotated[Path, typer.Option(help="Report file; FILE.html and FILE.pdf are written.")],
    data: Annotated[
        Path | None,
        typer.Option(help="Research-dataset folder (one Parquet folder per table)."),
    ] = None,
    engine: Annotated[
        str, typer.Option(help="Query engine: duckdb (embedded) or spark.")
    ] = "duckdb",
    title: Annotated[
        str, typer.Option(help="Title printed on the report.")
    ] = "Cohort outcomes report",
) -> None:
    """Response, remission, durability, safety and the published comparison, with 95% CIs."""
    from ketaclinic.analytics.dataset import parse_engine
    from ketaclinic.reports.cohort import build_report, write_cohort_report

    try:
        chosen = parse_engine(engine)
        if data is None:
            raise InvalidInput(
                "Give --data with a research-dataset folder (for example one written by "
                "'ketaclinic synthetic cohort'); reading the clinic database directly comes with "
                "the registry export.",
                field="data",
            )
        if not data.is_dir():
            raise InvalidInput(f"--data {data} is not a folder.", field="data")
        report = build_report(data, chosen)
        html_path, pdf_path = write_cohort_report(report, out, title=title)
    except KetaclinicError as error:
        fail(error)
    print_json(
        {
            "html": str(html_path),
            "pdf": str(pdf_path),
            "engine": chosen,
            "patients": report.results.patients,
            "verdicts": dict(
                zip(report.comparison.benchmark_id, report.comparison.verdict, strict=True)
            )
            if not report.comparison.empty
            else {},
        }
    )


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
