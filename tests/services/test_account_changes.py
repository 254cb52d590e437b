"""Account changes through the service: role rules (staff only, never one's own, the clinic keeps
an active administrator), corrections with both values in the trail. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.errors import InvalidInput, RuleViolation
from ketaclinic.services import accounts
from ketaclinic.services.context import SYSTEM
from ketaclinic.services.users import actor_for, create_user
from ketaclinic.storage.tables.access import AuditEvent, User

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _user(db: Session, role: str, name: str) -> User:
    return create_user(
        db, SYSTEM, email=f"{name}@clinic.example.org", display_name=name.title(), role=role,
        now=NOW,
    )  # fmt: skip


def test_the_only_active_administrator_keeps_the_role(db: Session) -> None:
    only = _user(db, "administrator", "ada")
    with pytest.raises(RuleViolation, match="only active administrator"):
        accounts.change_role(db, SYSTEM, only.id, "nurse", now=NOW)
    second = _user(db, "administrator", "bo")
    accounts.change_role(db, actor_for(second), only.id, "nurse", now=NOW)
    assert only.role == "nurse"
    with pytest.raises(RuleViolation, match="your own role"):
        accounts.change_role(db, actor_for(second), second.id, "nurse", now=NOW)


def test_a_correction_keeps_both_values_and_an_unchanged_form_records_nothing(
    db: Session,
) -> None:
    nurse = _user(db, "nurse", "nora")
    _user(db, "nurse", "nell")
    before = db.scalar(select(AuditEvent.sequence).order_by(AuditEvent.sequence.desc()).limit(1))
    accounts.update_account(db, SYSTEM, nurse.id, display_name="Nora", email=nurse.email, now=NOW)
    after = db.scalar(select(AuditEvent.sequence).order_by(AuditEvent.sequence.desc()).limit(1))
    assert before == after
    with pytest.raises(InvalidInput, match="already exists") as taken:
        accounts.update_account(db, SYSTEM, nurse.id, email="NELL@clinic.example.org", now=NOW)
    assert taken.value.field == "email"
    with pytest.raises(InvalidInput) as blank:
        accounts.update_account(db, SYSTEM, nurse.id, display_name="  ", now=NOW)
    assert blank.value.field == "display_name"
    accounts.update_account(db, SYSTEM, nurse.id, display_name="Nora Quinn", now=NOW)
    entry = db.scalars(select(AuditEvent).where(AuditEvent.action == "user.update")).one()
    assert entry.detail_json == '{"display_name":{"from":"Nora","to":"Nora Quinn"}}'
