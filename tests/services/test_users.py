"""Accounts: creation rules, authentication and throttling windows, links, demo accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation
from ketaclinic.services import users
from ketaclinic.services.audit import verify_chain
from ketaclinic.services.context import SYSTEM
from ketaclinic.storage.tables.access import User
from ketaclinic.web.security.passwords import use_hashing_cost

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PASSWORD = "a long enough passphrase"
POLICY = users.ThrottlePolicy(
    max_failures_per_account=3, max_failures_per_ip=5, window=timedelta(minutes=15)
)


@pytest.fixture(autouse=True, scope="module")
def _cheap_hashing() -> None:
    use_hashing_cost(time_cost=1, memory_cost_kib=1024)


def _nurse(db: Session) -> User:
    return users.create_user(
        db, SYSTEM, email="nurse@example.org", display_name="Nia", role="nurse",
        password=PASSWORD, now=NOW,
    )  # fmt: skip


def _try(db: Session, password: str, at: datetime, ip: str = "10.0.0.1") -> users.SignInResult:
    return users.authenticate(
        db, email="Nurse@Example.org ", password=password, ip_address=ip, policy=POLICY, now=at
    )


def test_authenticate_accepts_the_right_password_whatever_the_address_case(db: Session) -> None:
    nurse = _nurse(db)
    result = _try(db, PASSWORD, NOW)
    assert result.user is not None
    assert result.user.id == nurse.id
    assert nurse.last_sign_in_at == NOW


def test_throttling_counts_failures_inside_the_window_only(db: Session) -> None:
    _nurse(db)
    for minute in range(3):
        assert _try(db, "wrong", NOW + timedelta(minutes=minute)).user is None
    locked = _try(db, PASSWORD, NOW + timedelta(minutes=10))
    assert locked.user is None
    assert locked.refusal is not None
    assert "Wait 15 minutes" in locked.refusal
    # At 15:01 the first failure (at 0:00) has left the window: 2 remain, below the limit of 3.
    assert _try(db, PASSWORD, NOW + timedelta(minutes=15, seconds=1)).user is not None


def test_a_switched_off_account_cannot_sign_in(db: Session) -> None:
    nurse = _nurse(db)
    admin = users.create_user(
        db, SYSTEM, email="a@example.org", display_name="A", role="administrator", now=NOW
    )
    users.set_active(db, users.actor_for(admin), nurse.id, active=False, now=NOW)
    assert _try(db, PASSWORD, NOW).user is None


@pytest.mark.parametrize(
    ("role", "patient_id", "field"),
    [
        ("surgeon", None, "role"),
        ("patient", None, "patient_id"),
        ("nurse", "2b7c0c1e-8d4f-4f0e-9a51-3c9e5d7a1f20", "patient_id"),
    ],
)
def test_role_and_patient_link_must_agree(
    db: Session, role: str, patient_id: str | None, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        users.create_user(
            db, SYSTEM, email="x@example.org", display_name="X", role=role,
            patient_id=patient_id, now=NOW,
        )  # fmt: skip
    assert caught.value.field == field


@given(st.text(max_size=40).filter(lambda s: "@" not in s))
def test_anything_without_an_at_sign_is_not_an_address(text: str) -> None:
    with pytest.raises(InvalidInput, match="not an e-mail address"):
        users.normalise_email(text)


def test_links_work_once_and_expire(db: Session) -> None:
    admin = users.create_user(
        db, SYSTEM, email="a@example.org", display_name="A", role="administrator", now=NOW
    )
    patient, token = users.invite_patient(
        db, users.actor_for(admin), email="p@example.org", display_name="Pat",
        patient_id="2b7c0c1e-8d4f-4f0e-9a51-3c9e5d7a1f20", valid_for=timedelta(days=7), now=NOW,
    )  # fmt: skip
    with pytest.raises(RuleViolation, match="expired"):
        users.accept_invitation(db, token=token, password=PASSWORD, now=NOW + timedelta(days=7))
    users.accept_invitation(db, token=token, password=PASSWORD, now=NOW + timedelta(days=6))
    assert patient.password_hash is not None
    with pytest.raises(RuleViolation, match="already been used"):
        users.accept_invitation(db, token=token, password=PASSWORD, now=NOW + timedelta(days=6))
    with pytest.raises(NotFound):
        users.accept_invitation(db, token="made-up", password=PASSWORD, now=NOW)


def test_a_link_for_a_switched_off_account_is_refused(db: Session) -> None:
    admin = users.create_user(
        db, SYSTEM, email="a@example.org", display_name="A", role="administrator", now=NOW
    )
    nurse, token = users.reset_password(
        db, users.actor_for(admin), _nurse(db).id, valid_for=timedelta(days=1), now=NOW
    )
    users.set_active(db, users.actor_for(admin), nurse.id, active=False, now=NOW)
    with pytest.raises(PermissionDenied):
        users.accept_invitation(db, token=token, password=PASSWORD, now=NOW)


def test_demo_accounts_are_one_per_role_idempotent_and_audited(db: Session) -> None:
    first = users.ensure_demo_accounts(db, now=NOW)
    # No demo patients in an empty database: no portal account is offered.
    assert [login.role for login in first] == ["administrator", "prescriber", "nurse", "researcher"]
    again = users.ensure_demo_accounts(db, now=NOW)
    assert [login.email for login in again] == [login.email for login in first]
    assert len(db.scalars(select(User)).all()) == 4
    for login in first:
        assert (
            users.authenticate(
                db,
                email=login.email,
                password=login.password,
                ip_address=None,
                policy=POLICY,
                now=NOW,
            ).user
            is not None
        )
    assert verify_chain(db).ok


def test_the_demo_patient_account_opens_the_first_demo_record(db: Session) -> None:
    from ketaclinic.services.context import RequestContext
    from ketaclinic.storage.tables.patients import PatientRow
    from ketaclinic.synthetic.demo import load_demo

    load_demo(db, RequestContext(actor=SYSTEM, now=NOW), seed=1, patients_count=2)
    logins = {login.role: login for login in users.ensure_demo_accounts(db, now=NOW)}
    account = db.scalars(select(User).where(User.email == logins["patient"].email)).one()
    first = db.scalars(select(PatientRow).order_by(PatientRow.mrn)).first()
    assert first is not None
    assert account.patient_id == first.id
    assert logins["patient"].display_name == f"{first.given_name} {first.family_name}"


def test_purging_keeps_recent_sign_in_records_and_the_audit_trail(db: Session) -> None:
    from ketaclinic.storage.tables.access import SignInAttempt, WebSession
    from ketaclinic.web.security.sessions import purge_stale_sign_in_records, start_session

    nurse = _nurse(db)
    _try(db, "wrong", NOW)
    _try(db, PASSWORD, NOW + timedelta(days=100))
    start_session(db, nurse, ip_address=None, user_agent=None, now=NOW)
    start_session(db, nurse, ip_address=None, user_agent=None, now=NOW + timedelta(days=100))
    deleted = purge_stale_sign_in_records(db, now=NOW + timedelta(days=120), keep_days=90)
    assert deleted == (1, 1)
    assert [a.attempted_at for a in db.scalars(select(SignInAttempt))] == [
        NOW + timedelta(days=100)
    ]
    assert len(db.scalars(select(WebSession)).all()) == 1
    assert verify_chain(db).entries_checked == 3  # account, failed and good sign-in: all kept
    with pytest.raises(InvalidInput, match="at least 1 day"):
        purge_stale_sign_in_records(db, now=NOW, keep_days=0)
