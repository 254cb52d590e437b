"""Fixtures every test may use: a fresh migrated database on SQLite and on PostgreSQL.

- ``database_url``: the URL of a freshly migrated, empty database, parametrized ``sqlite`` /
  ``postgresql``, so every test that asks for a database runs on both. PostgreSQL cases get the
  ``postgres`` marker automatically (``-m "not postgres"`` runs the SQLite half only).
- ``empty_database_url``: the same, but never migrated (for migration and ``db upgrade`` tests).
- ``db_engine`` / ``session_factory`` / ``db``: an engine, a session factory and an open session on
  ``database_url``; everything is dropped after the test.
- ``ctx``: a RequestContext for a nurse at a fixed clinic time.

The PostgreSQL server is real (started per test process by ``support.postgres``, on tmpfs when
the machine has a roomy one), never mocked. ``support.factories.make_patient`` builds a realistic
patient through the services; ``support.clinic`` has the fixed clinic time and two actors.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ketaclinic.services.context import RequestContext
from ketaclinic.storage.database import SessionFactory, make_engine, make_session_factory
from support.clinic import context
from support.databases import BACKENDS, DatabaseProvider

_DATABASE_FIXTURES = ("database_url", "empty_database_url")


@pytest.fixture(scope="session")
def database_provider() -> Iterator[DatabaseProvider]:
    provider = DatabaseProvider()
    yield provider
    provider.close()


def _fresh_database(provider: DatabaseProvider, backend: str, *, migrated: bool) -> Iterator[str]:
    databases = provider.backend(backend)
    url = databases.create(migrated=migrated)
    yield url
    databases.drop(url)


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, database_provider: DatabaseProvider
) -> Iterator[str]:
    yield from _fresh_database(database_provider, request.param, migrated=True)


@pytest.fixture(params=BACKENDS)
def empty_database_url(
    request: pytest.FixtureRequest, database_provider: DatabaseProvider
) -> Iterator[str]:
    yield from _fresh_database(database_provider, request.param, migrated=False)


@pytest.fixture
def db_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(db_engine: Engine) -> SessionFactory:
    return make_session_factory(db_engine)


@pytest.fixture
def db(session_factory: SessionFactory) -> Iterator[Session]:
    session = session_factory()
    yield session
    session.close()


@pytest.fixture
def ctx() -> RequestContext:
    return context()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None:
            continue
        if any(callspec.params.get(name) == "postgresql" for name in _DATABASE_FIXTURES):
            item.add_marker(pytest.mark.postgres)
