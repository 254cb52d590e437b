"""Transactions are all-or-nothing, foreign keys hold, and times come back aware in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ketaclinic.errors import ConfigurationError
from ketaclinic.storage.database import SessionFactory, atomic, make_engine, transaction
from ketaclinic.storage.tables.patients import DiagnosisRow, PatientRow

WRITTEN_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _patient(mrn: str, written_at: datetime = WRITTEN_AT) -> PatientRow:
    return PatientRow(
        mrn=mrn,
        given_name="Ada",
        family_name="Lovelace",
        date_of_birth=date(1980, 12, 10),
        sex="F",
        is_synthetic=True,
        created_at=written_at,
        updated_at=written_at,
    )


def _count(factory: SessionFactory) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(PatientRow)) or 0


def test_transaction_commits_on_success(session_factory: SessionFactory) -> None:
    with transaction(session_factory) as session:
        session.add(_patient("K-1"))
    assert _count(session_factory) == 1


def test_transaction_rolls_back_everything_on_error(session_factory: SessionFactory) -> None:
    def two_writes_then_fail() -> None:
        with transaction(session_factory) as session:
            session.add(_patient("K-1"))
            session.flush()
            session.add(_patient("K-2"))
            raise RuntimeError("bad input after two writes")

    with pytest.raises(RuntimeError):
        two_writes_then_fail()
    assert _count(session_factory) == 0


def test_atomic_undoes_only_its_own_block(session_factory: SessionFactory) -> None:
    with transaction(session_factory) as session:
        session.add(_patient("K-1"))
        session.flush()

        def duplicate_clinic_number() -> None:
            with atomic(session):
                session.add(_patient("K-2"))
                session.add(_patient("K-1"))
                session.flush()

        with pytest.raises(IntegrityError):
            duplicate_clinic_number()
    with session_factory() as session:
        assert session.scalars(select(PatientRow.mrn)).all() == ["K-1"]


def test_foreign_keys_are_enforced(session_factory: SessionFactory) -> None:
    with pytest.raises(IntegrityError), transaction(session_factory) as session:
        session.add(
            DiagnosisRow(
                patient_id="00000000-0000-0000-0000-000000000000",
                condition_id="mdd",
                status="active",
                created_at=WRITTEN_AT,
                updated_at=WRITTEN_AT,
            )
        )


def test_aware_times_round_trip_as_utc(session_factory: SessionFactory) -> None:
    # 10:00 in UTC+05:30 is 04:30 UTC: stored as UTC and read back aware.
    local = datetime(2026, 3, 2, 10, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    with transaction(session_factory) as session:
        session.add(_patient("K-1", written_at=local))
    with session_factory() as session:
        stored = session.scalars(select(PatientRow.created_at)).one()
    assert stored.tzinfo is not None
    assert stored.utcoffset() == timedelta(0)
    assert stored == datetime(2026, 3, 2, 4, 30, tzinfo=UTC)


def test_naive_times_are_refused(session_factory: SessionFactory) -> None:
    def write_naive() -> None:
        with transaction(session_factory) as session:
            session.add(_patient("K-1", written_at=datetime(2026, 3, 2, 9, 0)))

    with pytest.raises(Exception, match="no time zone"):
        write_naive()
    assert _count(session_factory) == 0


def test_unsupported_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="not supported"):
        make_engine("mysql://clinic@localhost/ketaclinic")


def test_plain_postgresql_url_uses_the_shipped_psycopg_driver() -> None:
    engine = make_engine("postgresql://clinic@127.0.0.1:1/ketaclinic")
    try:
        assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()
