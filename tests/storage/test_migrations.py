"""The migrations build exactly the tables the code declares, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import ketaclinic.storage.tables as tables
from ketaclinic.storage.database import make_engine
from ketaclinic.storage.migrate import current_revision, head_revision, upgrade


def test_first_revision_is_0001_and_head_is_numbered() -> None:
    head = head_revision()
    assert head is not None
    assert head.isdigit()
    assert int(head) >= 1


def test_upgrade_from_empty_reaches_head_and_matches_metadata(empty_database_url: str) -> None:
    assert current_revision(empty_database_url) is None
    assert upgrade(empty_database_url) == head_revision()
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, tables.Base.metadata)
        assert differences == []
        table_names = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert table_names == set(tables.Base.metadata.tables)
    finally:
        engine.dispose()


def test_upgrade_twice_changes_nothing(empty_database_url: str) -> None:
    first = upgrade(empty_database_url)
    assert upgrade(empty_database_url) == first
