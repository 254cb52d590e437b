"""``ketaclinic report cohort``: the cohort outcomes report as HTML and PDF.

With ``--data`` it reads a research-dataset folder (a network's, or a synthetic one); without, it
reads the clinic's own database: the de-identified registry of research-consented patients is
written to a private temporary folder, analysed, and removed (docs/cohort-analytics.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ketaclinic.cli._output import fail, print_json
from ketaclinic.errors import InvalidInput, KetaclinicError

if TYPE_CHECKING:
    from ketaclinic.analytics.dataset import Engine
    from ketaclinic.reports.cohort import CohortReport

report_app = typer.Typer(
    help="Reports for medical directors and researchers.", no_args_is_help=True
)


@report_app.command("cohort")
def cohort(
    out: Annotated[Path, typer.Option(help="Report file; FILE.html and FILE.pdf are written.")],
    data: Annotated[
        Path | None,
        typer.Option(
            help="Research-dataset folder (one Parquet folder per table). Without it: the "
            "clinic's own database, research-consented patients de-identified."
        ),
    ] = None,
    engine: Annotated[
        str, typer.Option(help="Query engine: duckdb (embedded) or spark.")
    ] = "duckdb",
    title: Annotated[
        str, typer.Option(help="Title printed on the report.")
    ] = "Cohort outcomes report",
    site: Annotated[str, typer.Option(help="This clinic's site id (without --data).")] = "site-1",
) -> None:
    """Response, remission, durability, safety and the published comparison, with 95% CIs."""
    from ketaclinic.analytics.dataset import parse_engine
    from ketaclinic.reports.cohort import build_report, write_cohort_report

    try:
        chosen = parse_engine(engine)
        if data is None:
            report = _clinic_report(chosen, site)
        elif not data.is_dir():
            raise InvalidInput(
                f"--data {data} is not a folder. Give a research-dataset folder (for example one "
                "written by 'ketaclinic export registry' or 'ketaclinic synthetic cohort'), or "
                "leave --data out to report on this clinic's own database.",
                field="data",
            )
        else:
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


def _clinic_report(engine: Engine, site: str) -> CohortReport:
    """The report on the configured database; the run is recorded in the audit trail."""
    from ketaclinic.cli.export import clinic_deidentifier, clinic_session
    from ketaclinic.interop.registry import temporary_registry
    from ketaclinic.reports.cohort import build_report
    from ketaclinic.services.audit import record_event

    with clinic_session() as (db, ctx, settings):
        key = clinic_deidentifier(settings, ctx)
        with temporary_registry(db, ctx, key, site_id=site) as registry:
            report = build_report(registry.out_dir, engine)
        detail = {"engine": engine, "patients": registry.patients, "site": site}
        record_event(db, ctx.actor, "report.cohort", "report", None, detail=detail, now=ctx.now)
    return report


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
