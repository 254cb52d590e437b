"""Administration of one account (name, e-mail address, role) and the permission matrix, read-only.

Each change is audited by ``services.accounts``; the matrix page shows ``web/data/permissions.yaml``
exactly as every route checks it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketaclinic.errors import InvalidInput, RuleViolation
from ketaclinic.services import accounts, users
from ketaclinic.services.audit import record_event
from ketaclinic.web.deps import CurrentActor, DbSession, Now, require
from ketaclinic.web.permissions import permission_matrix
from ketaclinic.web.templating import render

router = APIRouter(prefix="/admin", tags=["administration"])

UsersRead = Depends(require("users:read"))
UsersChange = Depends(require("users:change"))
SAVED = {"details": "Name and e-mail address saved.", "role": "Role changed."}


def _account_page(
    request: Request,
    db: DbSession,
    user_id: str,
    *,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    account = users.get_user(db, user_id)
    matrix = permission_matrix()
    context: dict[str, Any] = {
        "account": account,
        "role_label": matrix.roles[account.role].label,
        "staff_roles": [(n, r.label) for n, r in matrix.roles.items() if n != "patient"],
        "details_values": {"display_name": account.display_name, "email": account.email},
        "details_errors": {},
        "role_values": {"role": account.role},
        "role_errors": {},
        "saved": SAVED.get(request.query_params.get("saved", "")),
        "granted": matrix.granted(account.role),
    }
    context.update(extra)
    return render(request, "admin_account.html", context, status_code=status_code)


@router.get("/users/{user_id}", response_class=HTMLResponse, dependencies=[UsersRead])
def account_page(
    request: Request, user_id: str, db: DbSession, actor: CurrentActor, now: Now
) -> Response:
    account = users.get_user(db, user_id)
    if account.patient_id is not None:
        # A patient's account names them and their e-mail address: a read of patient data.
        record_event(
            db, actor, "user.read", "user", account.id, patient_id=account.patient_id, now=now
        )
    return _account_page(request, db, user_id)


@router.post("/users/{user_id}/details", response_class=HTMLResponse, dependencies=[UsersChange])
def save_details(
    request: Request,
    user_id: str,
    db: DbSession,
    actor: CurrentActor,
    now: Now,
    display_name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
) -> Response:
    """Correct the name or the e-mail address (the sign-in name); the old values stay in the
    audit trail."""
    try:
        accounts.update_account(db, actor, user_id, display_name=display_name, email=email, now=now)
    except InvalidInput as exc:
        db.rollback()
        values = {"display_name": display_name, "email": email}
        errors = {exc.field or "email": exc.message}
        return _account_page(
            request, db, user_id, status_code=422, details_values=values, details_errors=errors
        )
    return RedirectResponse(f"/admin/users/{user_id}?saved=details", status_code=303)


@router.post("/users/{user_id}/role", response_class=HTMLResponse, dependencies=[UsersChange])
def save_role(
    request: Request,
    user_id: str,
    db: DbSession,
    actor: CurrentActor,
    now: Now,
    role: Annotated[str, Form()] = "",
) -> Response:
    try:
        accounts.change_role(db, actor, user_id, role, now=now)
    except (InvalidInput, RuleViolation) as exc:
        db.rollback()
        errors = {"role": exc.message}
        return _account_page(
            request, db, user_id, status_code=422, role_values={"role": role}, role_errors=errors
        )
    return RedirectResponse(f"/admin/users/{user_id}?saved=role", status_code=303)


@router.get("/permissions", response_class=HTMLResponse, dependencies=[UsersRead])
def permissions_page(request: Request) -> Response:
    """Which role may read and change what: the matrix every route checks, read-only."""
    matrix = permission_matrix()
    return render(request, "admin_permissions.html", {"matrix": matrix})
