"""``ketaclinic devices register|revoke``, ``ketaclinic sessions today``, ``ketaclinic rems forms``
and ``ketaclinic clinic-policy set|history``: the session side of the clinic from a terminal."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, cast

import typer

from ketaclinic.errors import KetaclinicError
from ketaclinic.services.context import SYSTEM, Actor, RequestContext
from ketaclinic.settings import get_settings
from ketaclinic.storage.database import transaction

from ._database import migrated_session_factory
from ._output import fail, print_json
from .session_booking import add_booking_commands

if TYPE_CHECKING:
    from ketaclinic.clinical.rems import RemsStatus

# Commands are run by whoever administers the installation; the audit trail names them so.
_OPERATOR = Actor(user_id=None, role="administrator", display_name="ketaclinic command line")


def _ctx(actor: Actor = SYSTEM) -> RequestContext:
    # The clinic's time zone (KETACLINIC_CLINIC_TIMEZONE) decides "today" and same-day tasks.
    return RequestContext(actor=actor, now=datetime.now(UTC), clinic_tz=get_settings().clinic_zone)


def register(app: typer.Typer) -> None:
    devices = typer.Typer(help="Bedside monitors allowed to post readings.", no_args_is_help=True)
    sessions_app = typer.Typer(help="Supervised sessions.", no_args_is_help=True)
    rems_app = typer.Typer(help="SPRAVATO REMS Patient Monitoring Forms.", no_args_is_help=True)
    policy_app = typer.Typer(help="The clinic's session thresholds.", no_args_is_help=True)

    @devices.command("register")
    def register_device(
        name: Annotated[str, typer.Option(help="What staff call it, e.g. 'Chair 3 monitor'.")],
    ) -> None:
        """Register a device and print its token once (only a hash of it is stored)."""
        from ketaclinic.services.device_feed import register_device as register_one

        try:
            with transaction(migrated_session_factory()) as db:
                device_id, token = register_one(db, _ctx(_OPERATOR), name)
        except KetaclinicError as error:
            fail(error)
        print_json({"device_id": device_id, "token": token, "header": f"Bearer {token}"})

    @devices.command("revoke")
    def revoke(device_id: str) -> None:
        """Stop a device's token from posting readings."""
        from ketaclinic.services.device_feed import revoke_device

        try:
            with transaction(migrated_session_factory()) as db:
                revoke_device(db, _ctx(_OPERATOR), device_id)
        except KetaclinicError as error:
            fail(error)
        typer.echo(f"Device {device_id} revoked.")

    @sessions_app.command("today")
    def today(
        day: Annotated[
            str | None, typer.Option("--date", help="YYYY-MM-DD (the clinic's day).")
        ] = None,
    ) -> None:
        """The clinic day's sessions with state, open alerts and late or missed checkpoints."""
        from ketaclinic.services.session_today import today_list

        ctx = _ctx()
        when = date.fromisoformat(day) if day else ctx.today
        try:
            with transaction(migrated_session_factory()) as db:
                entries = today_list(db, ctx, when, ctx.clinic_tz)
        except KetaclinicError as error:
            fail(error)
        print_json([asdict(e) for e in entries])

    @rems_app.command("forms")
    def forms(
        status: Annotated[str | None, typer.Option(help="due, submitted or overdue")] = None,
    ) -> None:
        """Every REMS form with its due date and status today."""
        from ketaclinic.services.rems import form_summaries

        if status not in (None, "due", "submitted", "overdue"):
            typer.echo("--status must be due, submitted or overdue.", err=True)
            raise typer.Exit(2)
        wanted = cast("RemsStatus | None", status)
        try:
            with transaction(migrated_session_factory()) as db:
                rows = form_summaries(db, today=_ctx().today, status=wanted)
        except KetaclinicError as error:
            fail(error)
        print_json([asdict(r) for r in rows])

    @policy_app.command("set")
    def set_threshold(
        kind: Annotated[str, typer.Argument(help="Protocol kind, e.g. iv-racemic.")],
        parameter: Annotated[str, typer.Argument(help="Parameter id (see session-policy).")],
        value: Annotated[
            float | None, typer.Argument(help="New value; omit with --revert.")
        ] = None,
        reason: Annotated[str, typer.Option(help="Why (recorded with the change).")] = "",
        revert: Annotated[bool, typer.Option(help="Return to the sourced default.")] = False,
    ) -> None:
        """Change one threshold for this clinic; who, why and the old value are recorded."""
        from ketaclinic.services.policy import change_threshold

        try:
            with transaction(migrated_session_factory()) as db:
                change = change_threshold(
                    db, _ctx(_OPERATOR), kind, parameter, value, reason=reason, revert=revert
                )
        except KetaclinicError as error:
            fail(error)
        print_json(asdict(change))

    @policy_app.command("history")
    def history() -> None:
        """Every threshold change, oldest first."""
        from ketaclinic.services.policy import policy_history

        try:
            with transaction(migrated_session_factory()) as db:
                changes = policy_history(db)
        except KetaclinicError as error:
            fail(error)
        print_json([asdict(c) for c in changes])

    add_booking_commands(sessions_app)
    app.add_typer(devices, name="devices")
    app.add_typer(sessions_app, name="sessions")
    app.add_typer(rems_app, name="rems")
    app.add_typer(policy_app, name="clinic-policy")
