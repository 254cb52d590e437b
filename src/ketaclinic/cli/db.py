"""``ketaclinic db upgrade`` and ``ketaclinic demo load``.

Both act on the configured database: ``KETACLINIC_DATABASE_URL``, else the SQLite file
``ketaclinic.db`` under ``KETACLINIC_DATA_DIR`` (``./data`` by default; the folder is created).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from ketaclinic.errors import KetaclinicError
from ketaclinic.services.context import SYSTEM, RequestContext
from ketaclinic.settings import Settings
from ketaclinic.storage.database import make_engine, make_session_factory, transaction
from ketaclinic.storage.migrate import current_revision, head_revision, upgrade
from ketaclinic.synthetic.demo import load_demo
from ketaclinic.synthetic.demo_plan import DEFAULT_PATIENTS

from ._output import fail


def _database_url() -> str:
    # Read the environment afresh on every call (not the cached settings), so a test or a script
    # that sets KETACLINIC_DATABASE_URL / KETACLINIC_DATA_DIR just before is obeyed.
    return Settings().resolved_database_url()


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def register(app: typer.Typer) -> None:
    db_app = typer.Typer(help="The database: apply migrations.", no_args_is_help=True)
    demo_app = typer.Typer(help="The synthetic demo clinic.", no_args_is_help=True)

    @db_app.command("upgrade")
    def db_upgrade() -> None:
        """Apply every migration to the configured database (safe to run again)."""
        url = _database_url()
        try:
            before = current_revision(url)
            after = upgrade(url)
        except KetaclinicError as error:
            fail(error)
        if before == after:
            typer.echo(f"{_shown(url)}: already at revision {after}.")
        else:
            typer.echo(f"{_shown(url)}: upgraded from {before or 'empty'} to revision {after}.")

    @demo_app.command("load")
    def demo_load(
        seed: Annotated[int, typer.Option(help="Same seed, same clinic.")] = 1,
        patients: Annotated[
            int, typer.Option(min=1, max=2000, help="How many synthetic patients.")
        ] = DEFAULT_PATIENTS,
    ) -> None:
        """Load the synthetic demo clinic (migrating first); running it twice adds nothing.

        On a later day it brings the clinic to today (that day's sessions, forms fallen due)."""
        url = _database_url()
        try:
            if current_revision(url) != head_revision():
                upgrade(url)
            engine = make_engine(url)
            try:
                ctx = RequestContext(actor=SYSTEM, now=datetime.now(UTC))
                with transaction(make_session_factory(engine)) as db:
                    report = load_demo(
                        db, ctx, seed=seed, patients_count=patients,
                        clinic_tz=Settings().clinic_zone,
                    )  # fmt: skip
            finally:
                engine.dispose()
        except KetaclinicError as error:
            fail(error)
        typer.echo(f"Database: {_shown(url)}")
        for line in report.lines():
            typer.echo(line)
        typer.echo("All demo patients are synthetic (clinic numbers start with DEMO).")

    app.add_typer(db_app, name="db")
    app.add_typer(demo_app, name="demo")
