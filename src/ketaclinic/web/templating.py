"""Rendering pages: the shared context (who is signed in, their navigation, the CSRF token)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from ketaclinic import CLINICAL_DISCLAIMER
from ketaclinic.web.permissions import permission_matrix
from ketaclinic.web.security.csrf import csrf_token

TEMPLATES_DIR = Path(__file__).parent / "templates"
ANON_COOKIE = "kc_anon"


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    # Shown to a role only when the matrix grants this; None: every signed-in person.
    permission: str | None
    description: str


# One line per page; pages added later register theirs with ``add_nav_item``.
NAVIGATION: list[NavItem] = [
    NavItem("Home", "/", None, "What you can do here."),
    NavItem("Users", "/admin/users", "users:read", "Accounts and roles; invite a patient."),
    NavItem("Audit trail", "/admin/audit", "audit_trail:read", "Search, verify and export it."),
]


def add_nav_item(item: NavItem) -> None:
    if all(existing.href != item.href for existing in NAVIGATION):
        NAVIGATION.append(item)


def nav_for(role: str) -> list[NavItem]:
    matrix = permission_matrix()
    return [i for i in NAVIGATION if i.permission is None or matrix.allows(role, i.permission)]


def csrf_binding(request: Request) -> str:
    """What this browser's CSRF token is bound to: its session cookie, else its pre-sign-in cookie.

    The raw cookies, valid or not, so that the page and the check always agree.
    """
    session_cookie = request.cookies.get(request.app.state.security.session_cookie_name)
    if session_cookie:
        return session_cookie
    anon = request.cookies.get(ANON_COOKIE) or getattr(request.state, "new_anon", None)
    if anon is None:
        anon = secrets.token_urlsafe(24)
        request.state.new_anon = anon
    return str(anon)


def has_browser_cookies(request: Request) -> bool:
    names = (request.app.state.security.session_cookie_name, ANON_COOKIE)
    return any(request.cookies.get(name) for name in names)


def secure_cookies(request: Request) -> bool:
    configured: bool | None = request.app.state.security.secure_cookies
    return configured if configured is not None else request.url.scheme == "https"


def in_zone(moment: datetime | date | str | None, zone: tzinfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (UTC) time as the clinic reads it; '' for none. An ISO text (the audit trail's)
    is read first; a calendar date has no zone and prints as it is; a naive time is taken as UTC
    (the database never returns one, but a page must not show a shifted time if it did)."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if not isinstance(moment, datetime):
        return moment.strftime(fmt)
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(zone).strftime(fmt)


def make_templates(clinic_zone: tzinfo = UTC) -> Jinja2Templates:
    """Templates with the clinic's time zone: ``{{ moment|clinic_time("%H:%M") }}`` shows a time
    in it, ``clinic_zone_name`` says which zone that is."""
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    templates.env.globals["disclaimer"] = CLINICAL_DISCLAIMER
    templates.env.globals["clinic_zone_name"] = str(clinic_zone)
    templates.env.filters["clinic_time"] = partial(_clinic_time, zone=clinic_zone)
    return templates


def _clinic_time(
    moment: datetime | date | str | None, fmt: str = "%Y-%m-%d %H:%M", *, zone: tzinfo
) -> str:
    return in_zone(moment, zone, fmt)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    user = getattr(request.state, "person", None)
    matrix = permission_matrix()
    full: dict[str, Any] = {
        "user": user,
        "role_label": matrix.roles[user.role].label if user else None,
        "nav": nav_for(user.role) if user else [],
        "csrf_token": csrf_token(request.app.state.secret_key, csrf_binding(request)),
        "current_path": request.url.path,
        "idle_timeout_seconds": int(request.app.state.security.idle_timeout.total_seconds()),
    }
    full.update(context or {})
    templates: Jinja2Templates = request.app.state.templates
    response = templates.TemplateResponse(request, name, full, status_code=status_code)
    new_anon = getattr(request.state, "new_anon", None)
    if new_anon:
        response.set_cookie(
            ANON_COOKIE, new_anon, httponly=True, samesite="lax", secure=secure_cookies(request)
        )
    return response
