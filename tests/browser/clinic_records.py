"""What the browser tests cannot do through the pages, written into the live clinic's database
through the services: the portal's patient, whose record must carry the id the patient account
was created with. Everything else (registration, consents, screening, plans, booking) goes
through the pages (``clinic_pages``). Also the helper that lets time pass at the chair."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from browser_support import LiveClinic
from playwright.sync_api import Page
from sqlalchemy.orm import Session

from ketaclinic.services import consents, patients
from ketaclinic.services.context import Actor, RequestContext
from ketaclinic.storage.database import make_engine, make_session_factory

SETUP = Actor(user_id=None, role="nurse", display_name="Browser test set-up")


@contextmanager
def clinic_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    """The live clinic's SQLite file (conftest's ``live_clinic`` makes it under browser-clinic*)."""
    found = sorted(tmp_path_factory.getbasetemp().glob("browser-clinic*/clinic.db"))
    assert found, "the live clinic's database was not found"
    engine = make_engine(f"sqlite:///{found[0]}")
    try:
        with make_session_factory(engine)() as db:
            yield db
            db.commit()
    finally:
        engine.dispose()


def now(clinic: LiveClinic) -> datetime:
    return clinic.clock()


def add_patient(
    db: Session, clinic: LiveClinic, given: str, family: str, *, patient_id: str | None = None
) -> str:
    ctx = RequestContext(SETUP, now(clinic) - timedelta(days=30))
    person = {"given_name": given, "family_name": family, "date_of_birth": "1979-04-12",
              "sex": "M"}  # fmt: skip
    pid = patients.register_patient(db, ctx, person, {}, patient_id=patient_id)
    patients.record_vitals(db, ctx, pid, {"weight_kg": 80.0}, observed_at=ctx.now)
    consents.record_consent(db, ctx, pid, "treatment")
    return pid


def pass_time(page: Page, clinic: LiveClinic, minutes: float) -> None:
    """Move the server's clock in steps of 10 minutes, reloading the page at each step as the
    monitor at a chair would be used (so the 15-minute idle time-out does not end the session)."""
    # Back to the session's own page (never a reload, which would post a refused form again).
    session_page = re.sub(r"^(.*/sessions/[^/#?]+).*$", r"\1", page.url)
    left = minutes
    while left > 0:
        step = min(10.0, left)
        clinic.clock.offset += timedelta(minutes=step)
        left -= step
        page.goto(session_page)
