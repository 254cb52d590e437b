"""``ketaclinic sessions book`` and ``ketaclinic sessions reschedule``: booking a signed plan's
sessions from a terminal (the same use cases as the plan's "Book sessions" page).

Booking is a nurse's or prescriber's act, so the command names the person it is done for
(``--by``); the audit trail records them as acting from the command line.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Annotated

import typer

from ketaclinic.errors import InvalidInput, KetaclinicError
from ketaclinic.services.context import Actor, RequestContext
from ketaclinic.settings import Settings
from ketaclinic.storage.database import transaction

from ._database import migrated_session_factory
from ._output import fail, print_json

_ROLES = ("nurse", "prescriber")


def _ctx(by: str, role: str) -> RequestContext:
    if role not in _ROLES:
        raise InvalidInput(f"--role must be one of {', '.join(_ROLES)}.", field="role")
    if len(by.strip()) < 3:
        raise InvalidInput("--by must name the person booking.", field="by")
    actor = Actor(user_id=None, role=role, display_name=f"{by.strip()} (command line)")
    return RequestContext(actor, datetime.now(UTC), Settings().clinic_zone)


def _moment(text: str, zone: tzinfo, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{field}: write YYYY-MM-DDTHH:MM, not '{text}'.", field=field) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def add_booking_commands(sessions_app: typer.Typer) -> None:
    @sessions_app.command("book")
    def book(
        plan_id: Annotated[str, typer.Argument(help="The signed plan's id.")],
        session: Annotated[int, typer.Option(help="The calendar entry's number (1 = first).")],
        at: Annotated[str, typer.Option(help="Start, YYYY-MM-DDTHH:MM (clinic time).")],
        by: Annotated[str, typer.Option(help="Who is booking (recorded).")],
        role: Annotated[str, typer.Option(help="nurse or prescriber")] = "nurse",
        chair: Annotated[str | None, typer.Option()] = None,
        room: Annotated[str | None, typer.Option()] = None,
    ) -> None:
        """Book one entry of a signed plan's calendar; prints the new session's id and time."""
        from ketaclinic.services.booking import Booking, book_sessions

        try:
            ctx = _ctx(by, role)
            wanted = Booking(session - 1, _moment(at, ctx.clinic_tz, "at"), chair, room)
            with transaction(migrated_session_factory()) as db:
                [session_id] = book_sessions(db, ctx, plan_id, [wanted])
        except KetaclinicError as error:
            fail(error)
        print_json({"session_id": session_id, "scheduled_for": wanted.starts_at.isoformat()})

    @sessions_app.command("reschedule")
    def reschedule(
        session_id: Annotated[str, typer.Argument(help="The missed session's id.")],
        by: Annotated[str, typer.Option(help="Who is rescheduling (recorded).")],
        role: Annotated[str, typer.Option(help="nurse or prescriber")] = "nurse",
        at: Annotated[
            str | None, typer.Option(help="New start (clinic time); default: the calendar's day.")
        ] = None,
    ) -> None:
        """Move a missed session (no-show, or stopped before a dose) and the rest of the course."""
        from ketaclinic.services.booking import reschedule_missed

        try:
            ctx = _ctx(by, role)
            starts_at = _moment(at, ctx.clinic_tz, "at") if at else None
            with transaction(migrated_session_factory()) as db:
                new_id = reschedule_missed(db, ctx, session_id, starts_at=starts_at)
        except KetaclinicError as error:
            fail(error)
        print_json({"session_id": new_id})
