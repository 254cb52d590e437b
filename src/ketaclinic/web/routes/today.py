"""Today: the day's sessions by chair or room with their state, timers to the next checkpoint,
open alerts highlighted and REMS forms due. The board refreshes itself every 30 seconds (htmx
polling of ``/today/board``), so the timers stay current without a page reload."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from ketaclinic.services.today import today_board
from ketaclinic.web.deps import CurrentContext, DbSession, Passive, require
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


def _board(db: DbSession, ctx: CurrentContext, *, refresh: bool = False) -> dict[str, object]:
    # The clinic's calendar day (KETACLINIC_CLINIC_TIMEZONE), not the UTC day.
    board = today_board(db, ctx, ctx.today, ctx.clinic_tz, refresh=refresh)
    return {"board": board, "refresh_seconds": REFRESH_SECONDS}


@router.get("", response_class=HTMLResponse, dependencies=[TodayRead])
def today_page(request: Request, db: DbSession, ctx: CurrentContext) -> Response:
    return render(request, "today.html", _board(db, ctx))


@router.get("/board", response_class=HTMLResponse, dependencies=[Passive, TodayRead])
def today_board_fragment(request: Request, db: DbSession, ctx: CurrentContext) -> Response:
    """The board alone, for the page's polling. Polling is not activity (``Passive``): a screen
    nobody touches still signs out after the idle time-out. Its audit entry is written when the
    content changes or every few minutes, not on every poll (``services.today.today_board``)."""
    return render(request, "today_board.html", _board(db, ctx, refresh=True))
