"""The JSON API of the administration pages and of the signed-in person (documented at
/api-reference): accounts, roles, patient invitations, the permission matrix and the audit trail.

Everything is under ``/api/v1``. The first paths of this API (``/api/me``, ``/api/users``,
``/api/audit/events``, ``/api/audit/verify``) still answer, marked deprecated in the schema, so
scripts written against them keep working.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from ketaclinic.services import accounts, audit, users
from ketaclinic.storage.tables.access import User
from ketaclinic.web.deps import CurrentActor, CurrentUser, DbSession, Now, require
from ketaclinic.web.permissions import permission_matrix
from ketaclinic.web.routes.admin import AuditCriteria

router = APIRouter(tags=["administration API"])
V1 = "/api/v1"
UsersRead = Depends(require("users:read"))
UsersChange = Depends(require("users:change"))
AuditRead = Depends(require("audit_trail:read"))


class UserOut(BaseModel):
    id: str
    email: str
    display_name: str
    role: str
    active: bool
    patient_id: str | None

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            role=user.role,
            active=user.active,
            patient_id=user.patient_id,
        )


class MeOut(BaseModel):
    user: UserOut
    permissions: list[str]


class NewUser(BaseModel):
    email: str
    display_name: str
    role: str = Field(description="administrator, prescriber, nurse, patient or researcher")
    patient_id: str | None = Field(
        default=None, description="Only for a patient account (or use patient-invitations)."
    )


class NewUserOut(BaseModel):
    user: UserOut
    set_password_path: str = Field(
        description="Single-use link path for the person to set a password."
    )


class PatientInvitationIn(BaseModel):
    mrn: str = Field(description="The patient's clinic number, as on the chart.")
    email: str
    display_name: str


class PatientInvitationOut(NewUserOut):
    record: str = Field(description="The linked record's name and clinic number, to check.")


class AccountChangeIn(BaseModel):
    display_name: str | None = None
    email: str | None = None


class RoleIn(BaseModel):
    role: str = Field(description="administrator, prescriber, nurse or researcher")


class VerificationOut(BaseModel):
    ok: bool
    entries_checked: int
    first_broken_sequence: int | None
    first_broken_id: str | None
    reason: str | None


def _valid_for(request: Request) -> timedelta:
    return timedelta(days=request.app.state.security.invitation_valid_days)


@router.get(f"{V1}/me")
def me(user: CurrentUser) -> MeOut:
    return MeOut(user=UserOut.of(user), permissions=permission_matrix().granted(user.role))


@router.get(f"{V1}/users", dependencies=[UsersRead])
def list_accounts(db: DbSession) -> list[UserOut]:
    return [UserOut.of(u) for u in users.list_users(db)]


@router.post(f"{V1}/users", status_code=201, dependencies=[UsersChange])
def create_account(
    request: Request, body: NewUser, db: DbSession, actor: CurrentActor, now: Now
) -> NewUserOut:
    user = users.create_user(
        db, actor, email=body.email, display_name=body.display_name, role=body.role,
        patient_id=body.patient_id, now=now,
    )  # fmt: skip
    token = users.issue_password_link(
        db, actor, user, purpose="invitation", valid_for=_valid_for(request), now=now
    )
    return NewUserOut(user=UserOut.of(user), set_password_path=f"/set-password/{token}")


@router.post(f"{V1}/users/patient-invitations", status_code=201, dependencies=[UsersChange])
def invite_patient(
    request: Request, body: PatientInvitationIn, db: DbSession, actor: CurrentActor, now: Now
) -> PatientInvitationOut:
    """A portal account for the patient with this clinic number, and its set-password link."""
    user, token, record = accounts.invite_patient_by_mrn(
        db, actor, mrn=body.mrn, email=body.email, display_name=body.display_name,
        valid_for=_valid_for(request), now=now,
    )  # fmt: skip
    return PatientInvitationOut(
        user=UserOut.of(user), set_password_path=f"/set-password/{token}", record=record
    )


@router.get(f"{V1}/users/patient-candidates", dependencies=[UsersChange])
def patient_candidates(
    db: DbSession, actor: CurrentActor, now: Now, q: str = ""
) -> list[dict[str, Any]]:
    """Patients whose name or clinic number matches ``q``, to pick whom to invite (audited)."""
    return [
        {"mrn": p.mrn, "display_name": p.display_name,
         "date_of_birth": p.date_of_birth.isoformat(), "has_account": p.has_account}
        for p in accounts.find_patients_to_invite(db, actor, q, now=now)
    ]  # fmt: skip


@router.patch(f"{V1}/users/{{user_id}}", dependencies=[UsersChange])
def change_account(
    user_id: str, body: AccountChangeIn, db: DbSession, actor: CurrentActor, now: Now
) -> UserOut:
    """Correct the name or e-mail address; the audit entry keeps both values."""
    user = accounts.update_account(
        db, actor, user_id, display_name=body.display_name, email=body.email, now=now
    )
    return UserOut.of(user)


@router.post(f"{V1}/users/{{user_id}}/role", dependencies=[UsersChange])
def change_role(
    user_id: str, body: RoleIn, db: DbSession, actor: CurrentActor, now: Now
) -> UserOut:
    return UserOut.of(accounts.change_role(db, actor, user_id, body.role, now=now))


@router.post(f"{V1}/users/{{user_id}}/deactivate", dependencies=[UsersChange])
def deactivate(user_id: str, db: DbSession, actor: CurrentActor, now: Now) -> UserOut:
    """Switch the account off; its sessions end at once."""
    return UserOut.of(users.set_active(db, actor, user_id, active=False, now=now))


@router.post(f"{V1}/users/{{user_id}}/reactivate", dependencies=[UsersChange])
def reactivate(user_id: str, db: DbSession, actor: CurrentActor, now: Now) -> UserOut:
    return UserOut.of(users.set_active(db, actor, user_id, active=True, now=now))


@router.post(f"{V1}/users/{{user_id}}/reset-password", dependencies=[UsersChange])
def reset_password(
    request: Request, user_id: str, db: DbSession, actor: CurrentActor, now: Now
) -> NewUserOut:
    """Clear the password, sign the person out everywhere, and return a new single-use link."""
    user, token = users.reset_password(db, actor, user_id, valid_for=_valid_for(request), now=now)
    return NewUserOut(user=UserOut.of(user), set_password_path=f"/set-password/{token}")


@router.get(f"{V1}/permissions", dependencies=[UsersRead])
def permissions() -> dict[str, Any]:
    """The permission matrix every route checks (web/data/permissions.yaml), read-only."""
    return permission_matrix().model_dump()


@router.get(f"{V1}/audit/events", dependencies=[AuditRead])
def audit_events(
    db: DbSession,
    actor: CurrentActor,
    now: Now,
    criteria: AuditCriteria,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    return [
        audit.event_as_dict(e)
        for e in audit.search_events_as(db, actor, criteria, limit=limit, offset=offset, now=now)
    ]


@router.get(f"{V1}/audit/verify", dependencies=[AuditRead])
def audit_verify(db: DbSession) -> VerificationOut:
    """Walk the whole chain (the audit page checks incrementally; this always walks it all)."""
    result = audit.verify_chain(db)
    return VerificationOut(
        ok=result.ok, entries_checked=result.entries_checked,
        first_broken_sequence=result.first_broken_sequence,
        first_broken_id=result.first_broken_id, reason=result.reason,
    )  # fmt: skip


@router.get(f"{V1}/audit/export", dependencies=[AuditRead])
def audit_export(
    db: DbSession,
    actor: CurrentActor,
    now: Now,
    criteria: AuditCriteria,
    format: Annotated[str, Query(pattern="^(csv|json)$")] = "json",
) -> Response:
    """Matching entries, oldest first, as a JSON array or CSV; the export is itself audited."""
    out = io.StringIO()
    audit.export_events(
        db, actor, out, fmt="csv" if format == "csv" else "json", criteria=criteria, now=now
    )
    media = "text/csv" if format == "csv" else "application/json"
    return Response(out.getvalue(), media_type=media)


# The paths this API had before /api/v1, kept for existing scripts (deprecated in the schema).
_OLD_PATHS = ("/me", "/users", "/audit/events", "/audit/verify")
for _route in list(router.routes):
    if isinstance(_route, APIRoute) and _route.path.removeprefix(V1) in _OLD_PATHS:
        router.add_api_route(
            "/api" + _route.path.removeprefix(V1), _route.endpoint,
            methods=sorted(_route.methods or ()),
            dependencies=list(_route.dependencies), status_code=_route.status_code,
            response_model=_route.response_model, deprecated=True,
            name=f"{_route.name}_before_v1",
        )  # fmt: skip
