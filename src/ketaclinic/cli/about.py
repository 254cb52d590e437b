"""``ketaclinic version``."""

from __future__ import annotations

import typer

from ketaclinic import CLINICAL_DISCLAIMER, __version__


def register(app: typer.Typer) -> None:
    @app.command()
    def version() -> None:
        """Print the version and the clinical-use notice."""
        typer.echo(f"ketaclinic {__version__}")
        typer.echo(CLINICAL_DISCLAIMER)
