"""``ketaclinic synthetic cohort``: stream a synthetic network of clinics to Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ketaclinic.cli._output import fail, print_json
from ketaclinic.errors import KetaclinicError

synthetic_app = typer.Typer(
    help="Synthetic data for demonstrations, tests and benchmarks.", no_args_is_help=True
)


@synthetic_app.command("cohort")
def cohort(
    patients: Annotated[int, typer.Option(help="Number of synthetic patients.", min=1)],
    out: Annotated[
        Path, typer.Option(help="Folder for the research dataset (one folder per table).")
    ],
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same patients.")] = 0,
    sites: Annotated[int, typer.Option(help="Clinics in the network.", min=1)] = 1,
    part_patients: Annotated[
        int, typer.Option(help="Patients per Parquet part; bounds the memory used.", min=1)
    ] = 100_000,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Write a synthetic network whose outcome rates follow the cited benchmarks."""
    from ketaclinic.synthetic.cohort import stream_cohort

    try:
        summary = stream_cohort(
            out,
            patients=patients,
            seed=seed,
            sites=sites,
            part_patients=part_patients,
            show_progress=progress,
        )
    except KetaclinicError as error:
        fail(error)
    print_json(
        {
            "out": str(summary.out_dir),
            "patients": summary.patients,
            "sites": summary.sites,
            "seed": summary.seed,
            "rows": summary.rows,
        }
    )


def register(app: typer.Typer) -> None:
    app.add_typer(synthetic_app, name="synthetic")
