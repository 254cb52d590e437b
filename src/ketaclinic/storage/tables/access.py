"""Who may sign in, how they signed in, and the audit trail of every read and change of a record.

The audit trail is append-only and tamper-evident: each entry carries the SHA-256 of the previous
entry, so altering or removing any entry breaks the chain at that point (see
``ketaclinic.services.audit``). The ORM refuses to update or delete an audit entry; the database
itself is only protected by the chain, which is what ``ketaclinic audit verify`` checks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    event,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from ketaclinic.storage.tables.base import Base, Timestamps, UUIDPrimaryKey
from ketaclinic.storage.tables.types import UTCDateTime, UUIDString

ROLES = ("administrator", "prescriber", "nurse", "patient", "researcher")

# SHA-256 written as lowercase hexadecimal.
HASH_LENGTH = 64


class User(UUIDPrimaryKey, Timestamps, Base):
    """A person who signs in: staff, a researcher, or a patient reaching their own portal."""

    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(254), nullable=False, unique=True)
    display_name: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    # None until the person sets a password through an invitation link.
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # For a patient account, the patient record it may see. Kept as a plain id (no foreign key)
    # so accounts do not depend on how the patient tables are laid out.
    patient_id: Mapped[str | None] = mapped_column(UUIDString(), nullable=True, index=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class PasswordInvitation(UUIDPrimaryKey, Base):
    """A single-use link to set a password: a patient's invitation or a staff password reset."""

    __tablename__ = "password_invitations"

    user_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    purpose: Mapped[str] = mapped_column(String(20), nullable=False)  # "invitation" | "reset"
    # Only the hash of the token is stored: a database leak must not hand out working links.
    token_sha256: Mapped[str] = mapped_column(String(HASH_LENGTH), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_by_user_id: Mapped[str | None] = mapped_column(UUIDString(), nullable=True)


class SignInAttempt(UUIDPrimaryKey, Base):
    """One try at signing in, kept to throttle password guessing per account and per address."""

    __tablename__ = "sign_in_attempts"
    __table_args__ = (
        Index("ix_sign_in_attempts_email_at", "email", "attempted_at"),
        Index("ix_sign_in_attempts_ip_at", "ip_address", "attempted_at"),
    )

    email: Mapped[str] = mapped_column(String(254), nullable=False)
    ip_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    succeeded: Mapped[bool] = mapped_column(Boolean, nullable=False)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class WebSession(UUIDPrimaryKey, Base):
    """A signed-in browser. Server-side so that sign-out and deactivation end it at once."""

    __tablename__ = "web_sessions"

    # The cookie holds a random token; only its hash is stored.
    token_sha256: Mapped[str] = mapped_column(String(HASH_LENGTH), nullable=False, unique=True)
    user_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ip_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(300), nullable=True)


class AuditEvent(UUIDPrimaryKey, Base):
    """One read or change: who (and in which role), what, which record, when, from where."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_patient_at", "patient_id", "occurred_at"),
        Index("ix_audit_events_actor_at", "actor_user_id", "occurred_at"),
    )

    # Position in the chain, from 1 without gaps; unique, so two writers can never fork the chain.
    sequence: Mapped[int] = mapped_column(Integer, nullable=False, unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    actor_user_id: Mapped[str | None] = mapped_column(UUIDString(), nullable=True)
    actor_role: Mapped[str] = mapped_column(String(20), nullable=False)
    actor_name: Mapped[str] = mapped_column(String(200), nullable=False)
    action: Mapped[str] = mapped_column(String(80), nullable=False, index=True)
    entity_type: Mapped[str] = mapped_column(String(80), nullable=False)
    entity_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    patient_id: Mapped[str | None] = mapped_column(UUIDString(), nullable=True)
    # Canonical JSON text (sorted keys), hashed exactly as stored.
    detail_json: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    ip_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    previous_hash: Mapped[str] = mapped_column(String(HASH_LENGTH), nullable=False)
    entry_hash: Mapped[str] = mapped_column(String(HASH_LENGTH), nullable=False, unique=True)


class AuditChainHead(Base):
    """The last entry of the chain: a single row that appenders lock, so entries are written one
    at a time, and that lets verification notice entries cut off the end of the chain."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_sequence: Mapped[int] = mapped_column(Integer, nullable=False)
    last_hash: Mapped[str] = mapped_column(String(HASH_LENGTH), nullable=False)


@event.listens_for(Session, "before_flush")
def _refuse_audit_rewrites(session: Session, _context: Any, _instances: Any) -> None:
    # Append-only by construction: the application never edits or removes an audit entry.
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise PermissionError(
                "audit entries are append-only; they cannot be changed or removed"
            )
