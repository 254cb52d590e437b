"""``ketaclinic serve``: the clinic web app on uvicorn."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from ketaclinic.errors import ConfigurationError
from ketaclinic.settings import Settings

from ._output import fail


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
        port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
        database_url: Annotated[
            str | None, typer.Option("--database-url", help="SQLAlchemy URL of the database.")
        ] = None,
        demo: Annotated[
            bool,
            typer.Option(
                "--demo",
                help="Create one demo login per role and print them; bring a loaded demo clinic "
                "to today (its Today board live).",
            ),
        ] = False,
    ) -> None:
        """Serve the clinic web app (pages and JSON API; API documentation at /docs)."""
        import uvicorn

        from ketaclinic.services.users import ensure_demo_accounts
        from ketaclinic.storage.database import make_engine, make_session_factory, transaction
        from ketaclinic.storage.migrate import current_revision, head_revision, upgrade
        from ketaclinic.web.app import create_app

        overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
        if database_url:
            overrides["database_url"] = database_url
        settings = Settings(**overrides)  # type: ignore[arg-type]
        url = settings.resolved_database_url()
        if current_revision(url) != head_revision():
            if not demo:
                fail(
                    ConfigurationError(
                        "The database is not at the current schema. Run `ketaclinic db upgrade` "
                        "first (it is safe to run again)."
                    )
                )
            upgrade(url)
        factory = make_session_factory(make_engine(url))
        address = f"http://{settings.host}:{settings.port}/"
        typer.echo(f"ketaclinic is serving on {address}")
        if demo:
            from ketaclinic.services.context import SYSTEM, RequestContext
            from ketaclinic.synthetic.demo import refresh_demo_day

            now = datetime.now(UTC)
            with transaction(factory) as db:
                # The demo's "today" is today: the day's sessions are dealt if not yet.
                for report in refresh_demo_day(
                    db, RequestContext(SYSTEM, now), clinic_tz=settings.clinic_zone
                ):
                    dealt = report.written["today's sessions"]
                    typer.echo(
                        f"Demo clinic (seed {report.seed}): brought to today, {dealt} sessions "
                        "dealt." if sum(report.written.values()) else
                        f"Demo clinic (seed {report.seed}): already up to date for today."
                    )  # fmt: skip
                logins = ensure_demo_accounts(db, now=now)
            typer.echo("Demo logins (synthetic clinic only; never use these with real patients):")
            for login in logins:
                typer.echo(f"  {login.role:<14} {login.email:<36} password: {login.password}")
        typer.echo("ketaclinic supports clinical judgement; it never replaces it.")
        uvicorn.run(
            create_app(settings, factory),
            host=settings.host,
            port=settings.port,
            log_level="warning",
            proxy_headers=True,
        )
