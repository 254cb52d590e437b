"""Today: the day's sessions by chair or room with their state, timers to the next checkpoint,
open alerts highlighted and REMS forms due. The board refreshes itself every 30 seconds (htmx
polling of ``/today/board``), so the timers stay current without a page reload."""

from __future__ import annotations

from datetime import UTC

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from ketaclinic.services.today import today_board
from ketaclinic.web.deps import CurrentActor, DbSession, Now, require
from ketaclinic.web.routes._clinic_forms import context
from ketaclinic.web.templating import NavItem, add_nav_item, render

router = APIRouter(prefix="/today", tags=["today"])
TodayRead = Depends(require("treatment_session:read"))
# Seconds between refreshes of the board: short enough for checkpoint timers in minutes.
REFRESH_SECONDS = 30

add_nav_item(
    NavItem(
        "Today",
        "/today",
        "treatment_session:read",
        "The day's sessions by chair, timers, open alerts and REMS forms due.",
    )
)


def _board(db: DbSession, actor: CurrentActor, now: Now) -> dict[str, object]:
    # The clinic day is the UTC day, as on the session list (no clinic time zone setting yet).
    board = today_board(db, context(actor, now), now.astimezone(UTC).date(), UTC)
    return {"board": board, "refresh_seconds": REFRESH_SECONDS}


@router.get("", response_class=HTMLResponse, dependencies=[TodayRead])
def today_page(request: Request, db: DbSession, actor: CurrentActor, now: Now) -> Response:
    return render(request, "today.html", _board(db, actor, now))


@router.get("/board", response_class=HTMLResponse, dependencies=[TodayRead])
def today_board_fragment(
    request: Request, db: DbSession, actor: CurrentActor, now: Now
) -> Response:
    """The board alone, for the page's polling."""
    return render(request, "today_board.html", _board(db, actor, now))
