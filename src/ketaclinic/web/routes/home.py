"""The landing page: what this person, in their role, can do here; and a health check."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ketaclinic import __version__
from ketaclinic.web.deps import CurrentUser, Public
from ketaclinic.web.permissions import permission_matrix
from ketaclinic.web.templating import nav_for, render

router = APIRouter(tags=["home"])


@router.get("/", response_class=HTMLResponse)
def home(request: Request, user: CurrentUser) -> Response:
    matrix = permission_matrix()
    granted: list[dict[str, str]] = []
    for rule in matrix.resources.values():
        reads, changes = user.role in rule.read, user.role in rule.change
        if reads or changes:
            action = "View and change" if reads and changes else ("View" if reads else "Change")
            granted.append({"action": action, "description": rule.description})
    context = {
        "role_description": matrix.roles[user.role].description,
        "pages": [item for item in nav_for(user.role) if item.href != "/"],
        "granted": granted,
    }
    return render(request, "home.html", context)


@router.get("/healthz", dependencies=[Public])
def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}
