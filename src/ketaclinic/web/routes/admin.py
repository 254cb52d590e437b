"""Administration: accounts and roles, patient invitations, password resets, the audit trail."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketaclinic.errors import InvalidInput, NotFound, RuleViolation
from ketaclinic.services import accounts, audit, users
from ketaclinic.web.deps import ClinicZone, CurrentActor, DbSession, Now, require
from ketaclinic.web.permissions import permission_matrix
from ketaclinic.web.templating import render

router = APIRouter(prefix="/admin", tags=["administration"])

UsersRead = Depends(require("users:read"))
UsersChange = Depends(require("users:change"))
AuditRead = Depends(require("audit_trail:read"))


def _link(request: Request, token: str) -> str:
    base = request.app.state.security.public_url or str(request.base_url)
    return base.rstrip("/") + f"/set-password/{token}"


def _valid_for(request: Request) -> timedelta:
    return timedelta(days=request.app.state.security.invitation_valid_days)


def _users_page(
    request: Request, db: DbSession, *, status_code: int = 200, **extra: Any
) -> Response:
    roles = permission_matrix().roles
    context = {
        "accounts": users.list_users(db),
        "roles": [(name, role.label) for name, role in roles.items()],
        "role_labels": {name: role.label for name, role in roles.items()},
        "values": {},
        "errors": {},
        # "Invite" from the search results brings the clinic number into the form.
        "invite_values": {"mrn": request.query_params.get("mrn", "")},
        "invite_errors": {},
        "search_values": {},
        "search_errors": {},
        "matches": None,
        "link": None,
    }
    context.update(extra)
    return render(request, "admin_users.html", context, status_code=status_code)


@router.get("/users", response_class=HTMLResponse, dependencies=[UsersRead])
def users_page(request: Request, db: DbSession) -> Response:
    return _users_page(request, db)


@router.post("/users", response_class=HTMLResponse, dependencies=[UsersChange])
def create_staff_account(
    request: Request,
    db: DbSession,
    actor: CurrentActor,
    now: Now,
    email: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
) -> Response:
    """A staff account gets a link to set its own password: nobody else ever knows it."""
    values = {"email": email, "display_name": display_name, "role": role}
    if role == "patient":
        error = {"role": "Invite patients with the form below, which links their record."}
        return _users_page(request, db, status_code=422, values=values, errors=error)
    try:
        user = users.create_user(
            db, actor, email=email, display_name=display_name, role=role, now=now
        )
        token = users.issue_password_link(
            db, actor, user, purpose="invitation", valid_for=_valid_for(request), now=now
        )
    except InvalidInput as exc:
        db.rollback()
        errors = {exc.field or "email": exc.message}
        return _users_page(request, db, status_code=422, values=values, errors=errors)
    link = {"who": user.display_name, "url": _link(request, token)}
    return _users_page(request, db, link=link)


@router.get("/patients/invite/search", response_class=HTMLResponse, dependencies=[UsersChange])
def find_patient_to_invite(
    request: Request, db: DbSession, actor: CurrentActor, now: Now, q: str = ""
) -> Response:
    """Patients by name or clinic number, to pick whom to invite (audited: names are shown)."""
    try:
        matches = accounts.find_patients_to_invite(db, actor, q, now=now)
    except InvalidInput as exc:
        errors = {"q": exc.message}
        return _users_page(
            request, db, status_code=422, search_values={"q": q}, search_errors=errors
        )
    return _users_page(request, db, search_values={"q": q}, matches=matches)


@router.post("/patients/invite", response_class=HTMLResponse, dependencies=[UsersChange])
def invite_patient(
    request: Request,
    db: DbSession,
    actor: CurrentActor,
    now: Now,
    email: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    mrn: Annotated[str, Form()] = "",
) -> Response:
    """A portal account for the patient with this clinic number (MRN), and its link."""
    values = {"email": email, "display_name": display_name, "mrn": mrn}
    try:
        user, token, record = accounts.invite_patient_by_mrn(
            db, actor, mrn=mrn, email=email, display_name=display_name,
            valid_for=_valid_for(request), now=now,
        )  # fmt: skip
    except (InvalidInput, NotFound, RuleViolation) as exc:
        db.rollback()
        errors = {exc.field or "email": exc.message}
        return _users_page(request, db, status_code=422, invite_values=values, invite_errors=errors)
    link = {"who": user.display_name, "url": _link(request, token), "record": record}
    return _users_page(request, db, link=link)


@router.post("/users/{user_id}/deactivate", dependencies=[UsersChange])
def deactivate(user_id: str, db: DbSession, actor: CurrentActor, now: Now) -> Response:
    users.set_active(db, actor, user_id, active=False, now=now)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{user_id}/reactivate", dependencies=[UsersChange])
def reactivate(user_id: str, db: DbSession, actor: CurrentActor, now: Now) -> Response:
    users.set_active(db, actor, user_id, active=True, now=now)
    return RedirectResponse("/admin/users", status_code=303)


@router.post(
    "/users/{user_id}/reset-password", response_class=HTMLResponse, dependencies=[UsersChange]
)
def reset_password(
    request: Request, user_id: str, db: DbSession, actor: CurrentActor, now: Now
) -> Response:
    user, token = users.reset_password(db, actor, user_id, valid_for=_valid_for(request), now=now)
    link = {"who": user.display_name, "url": _link(request, token)}
    return _users_page(request, db, link=link)


def _parse_day(value: str | None, field: str, zone: tzinfo = UTC) -> datetime | None:
    """A date (the clinic's midnight) or a full ISO time; a time without a zone is clinic time."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"Write the date as YYYY-MM-DD, not '{value}'.", field=field) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def audit_filter(
    zone: ClinicZone,
    patient_id: str | None = None,
    actor_user_id: str | None = None,
    action: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> audit.AuditFilter:
    """The search fields, shared by the page, the export and the API."""
    return audit.AuditFilter(
        patient_id=patient_id or None,
        actor_user_id=actor_user_id or None,
        action=action or None,
        entity_type=entity_type or None,
        entity_id=entity_id or None,
        since=_parse_day(since, "since", zone),
        until=_parse_day(until, "until", zone),
    )


AuditCriteria = Annotated[audit.AuditFilter, Depends(audit_filter)]


def verify_for_page(request: Request, db: DbSession, now: datetime, *, full: bool) -> Any:
    """Verify the chain for the audit page: incrementally from where this server process last
    verified it (so a page load does not re-walk millions of entries), or the whole chain when
    asked. The first load after a start walks everything; so does any load after a failure."""
    state = request.app.state
    since = None if full else getattr(state, "audit_checkpoint", None)
    result = audit.verify_chain(db, since=since)
    state.audit_checkpoint = audit.ChainCheckpoint.after(result)
    if result.ok and result.resumed_after == 0:
        state.audit_full_verified_at = now
    elif not result.ok:
        state.audit_full_verified_at = None
    return result


@router.get("/audit", response_class=HTMLResponse, dependencies=[AuditRead])
def audit_page(
    request: Request,
    db: DbSession,
    actor: CurrentActor,
    now: Now,
    criteria: AuditCriteria,
    page: Annotated[int, Query(ge=1)] = 1,
    verify: Annotated[str | None, Query(pattern="^full$")] = None,
) -> Response:
    per_page = 50
    offset = (page - 1) * per_page
    entries = audit.search_events_as(
        db, actor, criteria, limit=per_page + 1, offset=offset, now=now
    )
    context = {
        "entries": [audit.event_as_dict(e) for e in entries[:per_page]],
        "has_more": len(entries) > per_page,
        "page": page,
        "values": dict(request.query_params),
        "verification": verify_for_page(request, db, now, full=verify == "full"),
        "full_verified_at": getattr(request.app.state, "audit_full_verified_at", None),
        "query": request.url.query.replace("verify=full", "").strip("&"),
    }
    return render(request, "admin_audit.html", context)


@router.get("/audit/export", dependencies=[AuditRead])
def audit_export(
    db: DbSession,
    actor: CurrentActor,
    now: Now,
    criteria: AuditCriteria,
    format: Annotated[str, Query(pattern="^(csv|json)$")] = "csv",
) -> Response:
    out = io.StringIO()
    audit.export_events(
        db, actor, out, fmt="json" if format == "json" else "csv", criteria=criteria, now=now
    )
    media = "application/json" if format == "json" else "text/csv"
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    headers = {"Content-Disposition": f'attachment; filename="audit-{stamp}.{format}"'}
    return Response(out.getvalue(), media_type=media, headers=headers)
