"""Administering accounts beyond creating them: a person's role, name and e-mail address, and
inviting a patient by the clinic number the staff can see (not the record's internal id).

Each change is one transaction with one audit entry; ``services.users`` keeps sign-in, links and
creation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaclinic.errors import InvalidInput, NotFound, RuleViolation
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import Actor
from ketaclinic.services.patient_summary import list_patients
from ketaclinic.services.patients import find_patient_by_mrn
from ketaclinic.services.users import get_user, invite_patient, normalise_email
from ketaclinic.storage.tables.access import ROLES, User

STAFF_ROLES = tuple(role for role in ROLES if role != "patient")


def change_role(db: Session, actor: Actor, user_id: str, role: str, *, now: datetime) -> User:
    """Give a staff account another staff role. Patient accounts stay patients (they are tied to
    one record), nobody changes their own role, and the clinic keeps an active administrator."""
    user = get_user(db, user_id)
    if role not in ROLES:
        raise InvalidInput(
            f"Role must be one of {', '.join(STAFF_ROLES)}; not '{role}'.", field="role"
        )
    if user.role == "patient" or role == "patient":
        raise RuleViolation(
            "A patient account is tied to one patient record and stays a patient account; "
            "invite the patient with the invitation form, and give staff a staff account.",
            field="role",
        )
    if user.id == actor.user_id:
        raise RuleViolation(
            "You cannot change your own role; ask another administrator.", field="role"
        )
    if role == user.role:
        return user
    if user.role == "administrator" and user.active:
        others = db.scalar(
            select(func.count(User.id)).where(
                User.role == "administrator", User.active.is_(True), User.id != user.id
            )
        )
        if not others:
            raise RuleViolation(
                "This is the clinic's only active administrator; make someone else an "
                "administrator first.",
                field="role",
            )
    previous, user.role, user.updated_at = user.role, role, now
    record_event(
        db, actor, "user.role.change", "user", user.id,
        detail={"from": previous, "to": role}, now=now,
    )  # fmt: skip
    return user


def update_account(
    db: Session,
    actor: Actor,
    user_id: str,
    *,
    display_name: str | None = None,
    email: str | None = None,
    now: datetime,
) -> User:
    """Correct a person's name or e-mail address (what is given); the trail keeps both values."""
    user = get_user(db, user_id)
    changes: dict[str, dict[str, str]] = {}
    if display_name is not None:
        name = display_name.strip()
        if not name:
            raise InvalidInput(
                "Write the person's name as colleagues know it.", field="display_name"
            )
        if name != user.display_name:
            changes["display_name"] = {"from": user.display_name, "to": name}
            user.display_name = name
    if email is not None:
        address = normalise_email(email)
        if address != user.email:
            taken = db.scalar(select(User.id).where(User.email == address, User.id != user.id))
            if taken is not None:
                raise InvalidInput(f"An account for {address} already exists.", field="email")
            changes["email"] = {"from": user.email, "to": address}
            user.email = address
    if changes:
        user.updated_at = now
        record_event(
            db, actor, "user.update", "user", user.id, patient_id=user.patient_id,
            detail=changes, now=now,
        )  # fmt: skip
    return user


@dataclass(frozen=True)
class PatientChoice:
    """What an administrator needs to pick the right record: no clinical data."""

    mrn: str
    display_name: str
    date_of_birth: date
    has_account: bool


def find_patients_to_invite(
    db: Session, actor: Actor, search: str, *, now: datetime, limit: int = 10
) -> list[PatientChoice]:
    """Patients whose name or clinic number matches, for the invitation form (audited: it shows
    names and dates of birth)."""
    text = search.strip()
    if len(text) < 2:
        raise InvalidInput("Type at least two letters of the name or the clinic number.", field="q")
    found = list_patients(db, search=text, limit=limit)
    linked = set(
        db.scalars(
            select(User.patient_id).where(User.patient_id.in_([p.patient_id for p in found]))
        )
    )
    record_event(
        db, actor, "patient.search.invite", "patient", None,
        detail={"search": text, "shown": len(found)}, now=now,
    )  # fmt: skip
    return [
        PatientChoice(p.mrn, p.display_name, p.date_of_birth, p.patient_id in linked) for p in found
    ]


def invite_patient_by_mrn(
    db: Session,
    actor: Actor,
    *,
    mrn: str,
    email: str,
    display_name: str,
    valid_for: timedelta,
    now: datetime,
) -> tuple[User, str, str]:
    """A portal account for the patient with this clinic number: (account, link token, the
    record's name as the chart shows it, for the administrator to check)."""
    number = mrn.strip()
    if not number:
        raise InvalidInput(
            "Write the patient's clinic number (MRN), e.g. KC-1A2B3C4D.", field="mrn"
        )
    patient = find_patient_by_mrn(db, number) or find_patient_by_mrn(db, number.upper())
    if patient is None:
        raise NotFound(
            f"No patient has the clinic number '{number}'. Search by name to find it.",
            field="mrn",
        )
    existing = db.scalar(select(User.email).where(User.patient_id == patient.id))
    if existing is not None:
        raise RuleViolation(
            f"This patient already has a portal account ({existing}); send them a new password "
            "link from the list above instead.",
            field="mrn",
        )
    user, token = invite_patient(
        db, actor, email=email, display_name=display_name, patient_id=patient.id,
        valid_for=valid_for, now=now,
    )  # fmt: skip
    return user, token, f"{patient.given_name} {patient.family_name} ({patient.mrn})"
