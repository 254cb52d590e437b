"""The JSON API for what the administration and sign-in pages do (documented at /docs)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from ketaclinic.services import audit, users
from ketaclinic.storage.tables.access import User
from ketaclinic.web.deps import CurrentActor, CurrentUser, DbSession, Now, require
from ketaclinic.web.permissions import permission_matrix
from ketaclinic.web.routes.admin import AuditCriteria

router = APIRouter(prefix="/api", tags=["api"])


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
    patient_id: str | None = Field(default=None, description="Only for a patient account.")


class NewUserOut(BaseModel):
    user: UserOut
    set_password_path: str = Field(
        description="Single-use link path for the person to set a password."
    )


class VerificationOut(BaseModel):
    ok: bool
    entries_checked: int
    first_broken_sequence: int | None
    first_broken_id: str | None
    reason: str | None


@router.get("/me")
def me(user: CurrentUser) -> MeOut:
    return MeOut(user=UserOut.of(user), permissions=permission_matrix().granted(user.role))


@router.get("/users", dependencies=[Depends(require("users:read"))])
def list_accounts(db: DbSession) -> list[UserOut]:
    return [UserOut.of(u) for u in users.list_users(db)]


@router.post("/users", status_code=201, dependencies=[Depends(require("users:change"))])
def create_account(
    request: Request, body: NewUser, db: DbSession, actor: CurrentActor, now: Now
) -> NewUserOut:
    valid_for = timedelta(days=request.app.state.security.invitation_valid_days)
    user = users.create_user(
        db, actor, email=body.email, display_name=body.display_name, role=body.role,
        patient_id=body.patient_id, now=now,
    )  # fmt: skip
    token = users.issue_password_link(
        db, actor, user, purpose="invitation", valid_for=valid_for, now=now
    )
    return NewUserOut(user=UserOut.of(user), set_password_path=f"/set-password/{token}")


@router.get("/audit/events", dependencies=[Depends(require("audit_trail:read"))])
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


@router.get("/audit/verify", dependencies=[Depends(require("audit_trail:read"))])
def audit_verify(db: DbSession) -> VerificationOut:
    result = audit.verify_chain(db)
    return VerificationOut(**vars(result))
