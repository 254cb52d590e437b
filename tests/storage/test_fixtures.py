"""The shared database fixtures give each test its own migrated, empty database on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect, select, text

from ketaclinic.storage.migrate import current_revision, head_revision
from ketaclinic.storage.tables.patients import PatientRow


def test_database_is_migrated_to_head_and_empty(database_url: str, db_engine: Engine) -> None:
    assert current_revision(database_url) == head_revision()
    with db_engine.connect() as connection:
        assert connection.execute(select(PatientRow.id)).all() == []


def test_backend_matches_the_parameter(request: pytest.FixtureRequest, db_engine: Engine) -> None:
    backend = request.node.callspec.params["database_url"]
    assert db_engine.dialect.name == backend
    marked = request.node.get_closest_marker("postgres") is not None
    assert marked == (backend == "postgresql")


def test_empty_database_has_no_tables(empty_database_url: str) -> None:
    from ketaclinic.storage.database import make_engine

    engine = make_engine(empty_database_url)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


@pytest.mark.parametrize("round_number", [1, 2])
def test_writes_do_not_leak_between_tests(db_engine: Engine, round_number: int) -> None:
    with db_engine.begin() as connection:
        count = connection.execute(text("SELECT COUNT(*) FROM patients")).scalar_one()
        assert count == 0
        connection.execute(
            text(
                "INSERT INTO patients (id, mrn, given_name, family_name, date_of_birth, sex, "
                "is_synthetic, created_at, updated_at) VALUES (:id, :mrn, 'Ada', 'Test', "
                "'1980-01-01', 'F', false, '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00')"
            ),
            {"id": f"00000000-0000-0000-0000-00000000000{round_number}", "mrn": f"K{round_number}"},
        )
