"""``ketaclinic audit verify`` and ``ketaclinic audit export``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, cast

import typer

from ketaclinic.errors import InvalidInput, KetaclinicError
from ketaclinic.services.context import SYSTEM
from ketaclinic.storage.database import transaction

from ._database import migrated_session_factory
from ._output import fail

# Distinct from the error codes (2-6) so a script can tell "tampered" from "could not check".
EXIT_CHAIN_BROKEN = 10


def register(app: typer.Typer) -> None:
    audit_app = typer.Typer(help="The audit trail: verify and export.", no_args_is_help=True)

    @audit_app.command("verify")
    def verify() -> None:
        """Walk the hash chain; exit non-zero naming the first broken entry."""
        from ketaclinic.services.audit import verify_chain

        try:
            with transaction(migrated_session_factory()) as db:
                result = verify_chain(db)
        except KetaclinicError as error:
            fail(error)
        if result.ok:
            typer.echo(result.describe())
            return
        typer.echo(result.describe(), err=True)
        raise typer.Exit(code=EXIT_CHAIN_BROKEN)

    @audit_app.command("export")
    def export(
        out: Annotated[Path, typer.Option("--out", help="File to write (.csv or .json).")],
        fmt: Annotated[
            str | None, typer.Option("--format", help="csv or json; default from the file name.")
        ] = None,
        patient_id: Annotated[str | None, typer.Option("--patient-id")] = None,
        action: Annotated[
            str | None, typer.Option("--action", help="Action prefix, e.g. patient.")
        ] = None,
    ) -> None:
        """Export the audit trail (the export itself is recorded in it)."""
        from ketaclinic.services.audit import AuditFilter, ExportFormat, export_events

        chosen = fmt or ("json" if out.suffix.lower() == ".json" else "csv")
        try:
            if chosen not in ("csv", "json"):
                raise InvalidInput(f"--format must be csv or json, not {chosen!r}.", field="format")
            with (
                transaction(migrated_session_factory()) as db,
                out.open("w", encoding="utf-8", newline="") as handle,
            ):
                count = export_events(
                    db, SYSTEM, handle, fmt=cast(ExportFormat, chosen),
                    criteria=AuditFilter(patient_id=patient_id, action=action),
                    now=datetime.now(UTC),
                )  # fmt: skip
        except KetaclinicError as error:
            fail(error)
        typer.echo(f"Wrote {count} audit entries to {out}.")

    app.add_typer(audit_app, name="audit")
