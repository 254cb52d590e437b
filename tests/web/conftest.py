"""A web app on a fresh migrated database (the shared ``session_factory``: SQLite and PostgreSQL),
a movable clock, and one signed-in client per role."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from web_support import PASSWORD, PATIENT_ID, ROLES, Clock, sign_in

from ketaclinic.services.context import SYSTEM
from ketaclinic.services.users import create_user
from ketaclinic.settings import Settings
from ketaclinic.storage.database import SessionFactory
from ketaclinic.web.app import create_app
from ketaclinic.web.security.config import SecuritySettings
from ketaclinic.web.security.passwords import use_hashing_cost


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> None:
    # Argon2 at production cost takes a good fraction of a second per sign-in on the CI machine;
    # the behaviour under test does not depend on the cost.
    use_hashing_cost(time_cost=1, memory_cost_kib=1024)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def security() -> SecuritySettings:
    return SecuritySettings(
        idle_timeout_minutes=15,
        max_failed_sign_ins_per_account=3,
        max_failed_sign_ins_per_ip=6,
        sign_in_throttle_window_minutes=15,
    )


@pytest.fixture
def clinic_timezone() -> str:
    """The clinic's time zone; a test module overrides this fixture to try another."""
    return "UTC"


@pytest.fixture
def app(
    tmp_path: Path,
    session_factory: SessionFactory,
    clock: Clock,
    security: SecuritySettings,
    clinic_timezone: str,
) -> FastAPI:
    settings = Settings(
        data_dir=tmp_path,
        secret_key="test-secret-key-not-for-production",
        clinic_timezone=clinic_timezone,
    )
    return create_app(settings, session_factory, security=security, clock=clock)


@pytest.fixture
def accounts(session_factory: SessionFactory, clock: Clock) -> dict[str, str]:
    """One account per role, all with PASSWORD; returns role -> e-mail address."""
    emails: dict[str, str] = {}
    with session_factory() as db:
        for role in ROLES:
            email = f"{role}@clinic.example.org"
            create_user(
                db, SYSTEM, email=email, display_name=f"Demo {role.title()}", role=role,
                password=PASSWORD, patient_id=PATIENT_ID if role == "patient" else None,
                now=clock.now,
            )  # fmt: skip
            emails[role] = email
        db.commit()
    return emails


@pytest.fixture
def signed_in(app: FastAPI, accounts: dict[str, str]) -> dict[str, TestClient]:
    """A client per role, already signed in."""
    clients: dict[str, TestClient] = {}
    for role, email in accounts.items():
        client = TestClient(app)
        status, _ = sign_in(client, email)
        assert status == 303, f"{role} could not sign in"
        clients[role] = client
    return clients
