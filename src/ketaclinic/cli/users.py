"""``ketaclinic users create-admin`` and ``ketaclinic users invite``."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from ketaclinic.errors import InvalidInput, KetaclinicError
from ketaclinic.services.context import SYSTEM
from ketaclinic.storage.database import transaction
from ketaclinic.web.security.config import SecuritySettings

from ._database import migrated_session_factory
from ._output import fail


def register(app: typer.Typer) -> None:
    users_app = typer.Typer(
        help="Accounts: the first administrator, invitations.", no_args_is_help=True
    )

    @users_app.command("create-admin")
    def create_admin(
        email: Annotated[str, typer.Option(help="The administrator's e-mail address.")],
        name: Annotated[str, typer.Option(help="Their name as colleagues know it.")],
        password_stdin: Annotated[
            bool, typer.Option("--password-stdin", help="Read the password from standard input.")
        ] = False,
    ) -> None:
        """Create the installation's first administrator (refused once one exists)."""
        from ketaclinic.services.users import create_first_administrator

        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            with transaction(migrated_session_factory()) as db:
                user = create_first_administrator(
                    db, email=email, display_name=name, password=password,
                    password_minimum_length=SecuritySettings().password_minimum_length,
                    now=datetime.now(UTC),
                )  # fmt: skip
                typer.echo(f"Administrator {user.display_name} <{user.email}> created.")
        except KetaclinicError as error:
            fail(error)

    @users_app.command("invite")
    def invite(
        email: Annotated[str, typer.Option(help="The person's e-mail address.")],
        name: Annotated[str, typer.Option(help="Their name.")],
        role: Annotated[
            str, typer.Option(help="administrator, prescriber, nurse, patient or researcher")
        ],
        patient_id: Annotated[
            str | None, typer.Option("--patient-id", help="For a patient: their record id.")
        ] = None,
        mrn: Annotated[
            str | None,
            typer.Option("--mrn", help="For a patient: their clinic number (instead of the id)."),
        ] = None,
        base_url: Annotated[
            str, typer.Option("--base-url", help="The address people open the app at.")
        ] = "http://127.0.0.1:8000",
        valid_days: Annotated[int, typer.Option("--valid-days", min=1, max=60)] = 7,
    ) -> None:
        """Create an account and print a single-use link to set its password."""
        from ketaclinic.services import accounts, users

        now = datetime.now(UTC)
        try:
            if role == "patient" and not (patient_id or mrn):
                raise InvalidInput(
                    "A patient invitation needs --mrn (or --patient-id).", field="mrn"
                )
            with transaction(migrated_session_factory()) as db:
                if role == "patient" and mrn:
                    user, token, record = accounts.invite_patient_by_mrn(
                        db, SYSTEM, mrn=mrn, email=email, display_name=name,
                        valid_for=timedelta(days=valid_days), now=now,
                    )  # fmt: skip
                    typer.echo(f"Linked to the record of {record}.")
                    typer.echo(f"Send this link to {name}; it works once, for {valid_days} days:")
                    typer.echo(f"{base_url.rstrip('/')}/set-password/{token}")
                    return
                user = users.create_user(
                    db, SYSTEM, email=email, display_name=name, role=role,
                    patient_id=patient_id, now=now,
                )  # fmt: skip
                token = users.issue_password_link(
                    db, SYSTEM, user, purpose="invitation", valid_for=timedelta(days=valid_days),
                    now=now,
                )  # fmt: skip
        except KetaclinicError as error:
            fail(error)
        typer.echo(f"Send this link to {name}; it works once, for {valid_days} days:")
        typer.echo(f"{base_url.rstrip('/')}/set-password/{token}")

    @users_app.command("purge-sign-ins")
    def purge_sign_ins(
        keep_days: Annotated[
            int, typer.Option("--keep-days", min=1, help="Keep this many days of records.")
        ] = 90,
    ) -> None:
        """Delete old sign-in attempts and sessions (the audit trail keeps its sign-in entries)."""
        from ketaclinic.web.security.sessions import purge_stale_sign_in_records

        try:
            with transaction(migrated_session_factory()) as db:
                attempts, sessions = purge_stale_sign_in_records(
                    db, now=datetime.now(UTC), keep_days=keep_days
                )
        except KetaclinicError as error:
            fail(error)
        typer.echo(
            f"Deleted {attempts} sign-in attempts and {sessions} sessions "
            f"older than {keep_days} days."
        )

    app.add_typer(users_app, name="users")
