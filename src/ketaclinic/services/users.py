"""People who sign in: create, invite, authenticate, reset, deactivate. Every change is audited."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaclinic.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import SYSTEM, Actor
from ketaclinic.storage.tables.access import ROLES, PasswordInvitation, SignInAttempt, User
from ketaclinic.web.security.passwords import (
    check_password_rules,
    hash_password,
    needs_rehash,
    verify_password,
)
from ketaclinic.web.security.sessions import end_all_sessions

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DEFAULT_PASSWORD_MINIMUM = 12


def actor_for(user: User, *, ip_address: str | None = None) -> Actor:
    return Actor(
        user_id=user.id,
        role=user.role,
        display_name=user.display_name,
        ip_address=ip_address,
        patient_id=user.patient_id,
    )


def normalise_email(email: str) -> str:
    cleaned = email.strip().lower()
    if not _EMAIL.match(cleaned) or len(cleaned) > 254:
        raise InvalidInput(
            f"'{email}' is not an e-mail address; write it as name@example.org.", field="email"
        )
    return cleaned


def _check_role(role: str, patient_id: str | None) -> None:
    if role not in ROLES:
        raise InvalidInput(f"Role must be one of {', '.join(ROLES)}; not '{role}'.", field="role")
    if role == "patient" and not patient_id:
        raise InvalidInput(
            "A patient account must name the patient record it opens.", field="patient_id"
        )
    if role != "patient" and patient_id:
        raise InvalidInput(
            "Only a patient account is linked to a patient record.", field="patient_id"
        )


def create_user(
    db: Session,
    actor: Actor,
    *,
    email: str,
    display_name: str,
    role: str,
    password: str | None = None,
    patient_id: str | None = None,
    password_minimum_length: int = DEFAULT_PASSWORD_MINIMUM,
    now: datetime,
) -> User:
    """Add an account. Without a password it can only be used after an invitation link."""
    address = normalise_email(email)
    name = display_name.strip()
    if not name:
        raise InvalidInput("Write the person's name as colleagues know it.", field="display_name")
    _check_role(role, patient_id)
    if db.scalar(select(User.id).where(User.email == address)) is not None:
        raise InvalidInput(f"An account for {address} already exists.", field="email")
    if password is not None:
        check_password_rules(password, email=address, minimum_length=password_minimum_length)
    user = User(
        email=address,
        display_name=name,
        role=role,
        password_hash=hash_password(password) if password is not None else None,
        patient_id=patient_id,
        active=True,
        created_at=now,
        updated_at=now,
    )
    db.add(user)
    db.flush()
    record_event(
        db,
        actor,
        "user.create",
        "user",
        user.id,
        patient_id=patient_id,
        detail={"email": address, "role": role},
        now=now,
    )
    return user


def create_first_administrator(
    db: Session,
    *,
    email: str,
    display_name: str,
    password: str,
    password_minimum_length: int = DEFAULT_PASSWORD_MINIMUM,
    now: datetime,
) -> User:
    """The installation's first administrator, from the command line; refused once one exists."""
    existing = db.scalar(select(func.count()).select_from(User).where(User.role == "administrator"))
    if existing:
        raise RuleViolation(
            "An administrator already exists; sign in as them to add more accounts.", field="email"
        )
    return create_user(
        db, SYSTEM, email=email, display_name=display_name, role="administrator",
        password=password, password_minimum_length=password_minimum_length, now=now,
    )  # fmt: skip


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures_per_account: int = 5
    max_failures_per_ip: int = 20
    window: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class SignInResult:
    user: User | None
    # Shown to the person; deliberately the same for an unknown address and a wrong password.
    refusal: str | None = None


def _recent_failures(db: Session, column: object, value: str, since: datetime) -> int:
    return int(
        db.scalar(
            select(func.count())
            .select_from(SignInAttempt)
            .where(column == value, SignInAttempt.attempted_at >= since)  # type: ignore[arg-type]
            .where(SignInAttempt.succeeded.is_(False))
        )
        or 0
    )


def authenticate(
    db: Session,
    *,
    email: str,
    password: str,
    ip_address: str | None,
    policy: ThrottlePolicy,
    now: datetime,
) -> SignInResult:
    """Check a sign-in. The attempt is recorded either way; the caller commits before answering.

    Too many recent failures for the account or from the address refuse the attempt without
    checking the password, which is what makes guessing slow.
    """
    address = email.strip().lower()
    since = now - policy.window
    minutes = int(policy.window.total_seconds() // 60)
    if _recent_failures(
        db, SignInAttempt.email, address, since
    ) >= policy.max_failures_per_account or (
        ip_address
        and _recent_failures(db, SignInAttempt.ip_address, ip_address, since)
        >= policy.max_failures_per_ip
    ):
        return SignInResult(
            None,
            f"Too many failed sign-ins. Wait {minutes} minutes and try again, or ask an "
            "administrator to reset your password.",
        )
    user = db.scalar(select(User).where(User.email == address))
    ok = verify_password(user.password_hash if user else None, password)
    ok = ok and user is not None and user.active
    db.add(SignInAttempt(email=address, ip_address=ip_address, succeeded=ok, attempted_at=now))
    if not ok or user is None:
        who = actor_for(user, ip_address=ip_address) if user else SYSTEM
        record_event(
            db, who, "user.sign_in_failed", "user", user.id if user else None,
            detail={"email": address}, now=now,
        )  # fmt: skip
        return SignInResult(
            None, "That e-mail address and password do not match an active account."
        )
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_sign_in_at = now
    record_event(
        db, actor_for(user, ip_address=ip_address), "user.sign_in", "user", user.id, now=now
    )
    return SignInResult(user)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_password_link(
    db: Session, actor: Actor, user: User, *, purpose: str, valid_for: timedelta, now: datetime
) -> str:
    """A single-use token to set a password (purpose ``invitation`` or ``reset``)."""
    token = secrets.token_urlsafe(32)
    db.add(
        PasswordInvitation(
            user_id=user.id,
            purpose=purpose,
            token_sha256=_token_digest(token),
            created_at=now,
            expires_at=now + valid_for,
            created_by_user_id=actor.user_id,
        )
    )
    record_event(
        db, actor, f"user.{purpose}", "user", user.id, patient_id=user.patient_id,
        detail={"expires_at": (now + valid_for).isoformat()}, now=now,
    )  # fmt: skip
    return token


def invite_patient(
    db: Session,
    actor: Actor,
    *,
    email: str,
    display_name: str,
    patient_id: str,
    valid_for: timedelta = timedelta(days=7),
    now: datetime,
) -> tuple[User, str]:
    """A patient account without a password and the token of the link to set one."""
    user = create_user(
        db, actor, email=email, display_name=display_name, role="patient",
        patient_id=patient_id, now=now,
    )  # fmt: skip
    return user, issue_password_link(
        db, actor, user, purpose="invitation", valid_for=valid_for, now=now
    )


def find_invitation(db: Session, token: str, *, now: datetime) -> tuple[PasswordInvitation, User]:
    row = db.execute(
        select(PasswordInvitation, User)
        .join(User, User.id == PasswordInvitation.user_id)
        .where(PasswordInvitation.token_sha256 == _token_digest(token))
    ).first()
    if row is None:
        raise NotFound("This link is not valid. Ask the clinic for a new one.")
    invitation, user = row
    if invitation.used_at is not None:
        raise RuleViolation("This link has already been used. Sign in, or ask for a new link.")
    if now >= invitation.expires_at:
        raise RuleViolation("This link has expired. Ask the clinic for a new one.")
    if not user.active:
        raise PermissionDenied("This account is switched off. Ask the clinic.")
    return invitation, user


def accept_invitation(
    db: Session,
    *,
    token: str,
    password: str,
    password_minimum_length: int = DEFAULT_PASSWORD_MINIMUM,
    ip_address: str | None = None,
    now: datetime,
) -> User:
    """Set the password from a link; the link then stops working."""
    invitation, user = find_invitation(db, token, now=now)
    check_password_rules(password, email=user.email, minimum_length=password_minimum_length)
    user.password_hash = hash_password(password)
    user.updated_at = now
    invitation.used_at = now
    actor = actor_for(user, ip_address=ip_address)
    record_event(db, actor, "user.password_set", "user", user.id, now=now)
    return user


def get_user(db: Session, user_id: str) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotFound(f"No account with id {user_id}.")
    return user


def list_users(db: Session) -> list[User]:
    return list(db.scalars(select(User).order_by(User.role, User.display_name)))


def set_active(db: Session, actor: Actor, user_id: str, *, active: bool, now: datetime) -> User:
    """Switch an account off (ending its sessions at once) or back on."""
    user = get_user(db, user_id)
    if not active and user.id == actor.user_id:
        raise RuleViolation("You cannot switch off your own account.")
    user.active = active
    user.updated_at = now
    if not active:
        end_all_sessions(db, user.id, now=now)
    action = "user.reactivate" if active else "user.deactivate"
    record_event(db, actor, action, "user", user.id, patient_id=user.patient_id, now=now)
    return user


def reset_password(
    db: Session, actor: Actor, user_id: str, *, valid_for: timedelta, now: datetime
) -> tuple[User, str]:
    """Clear the password, sign the person out everywhere, and return a link to set a new one."""
    user = get_user(db, user_id)
    user.password_hash = None
    user.updated_at = now
    end_all_sessions(db, user.id, now=now)
    return user, issue_password_link(db, actor, user, purpose="reset", valid_for=valid_for, now=now)


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str
    display_name: str


# Demo clinic only: printed by `ketaclinic serve --demo` so a visitor can try every role.
_DEMO_PEOPLE = (
    ("administrator", "Alex Admin"),
    ("prescriber", "Dr Priya Prescriber"),
    ("nurse", "Noel Nurse"),
    ("patient", None),
    ("researcher", "Rosa Researcher"),
)


def ensure_demo_accounts(db: Session, *, now: datetime) -> list[DemoLogin]:
    """One account per role for the synthetic demo clinic; the patient opens the first demo record.

    Idempotent: existing demo accounts are kept (and switched back on). The passwords are public,
    so these accounts belong in a demo database only.
    """
    from ketaclinic.storage.tables.patients import PatientRow  # demo only; keeps users.py light

    patient = db.scalars(
        select(PatientRow).where(PatientRow.mrn.startswith("DEMO-")).order_by(PatientRow.mrn)
    ).first()
    logins: list[DemoLogin] = []
    for role, name in _DEMO_PEOPLE:
        if role == "patient" and patient is None:
            continue  # no demo patients loaded: no portal account to offer
        display_name = name or f"{patient.given_name} {patient.family_name}"  # type: ignore[union-attr]
        email = f"{role}@demo.ketaclinic.example"
        password = f"demo-{role}-password"
        user = db.scalar(select(User).where(User.email == email))
        if user is None:
            create_user(
                db, SYSTEM, email=email, display_name=display_name, role=role, password=password,
                patient_id=patient.id if role == "patient" and patient else None, now=now,
            )  # fmt: skip
        else:
            user.active = True
            user.password_hash = hash_password(password)
        logins.append(DemoLogin(role, email, password, display_name))
    return logins
