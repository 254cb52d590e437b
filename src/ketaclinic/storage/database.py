"""Engines, sessions and transactions.

SQLite is the embedded default, PostgreSQL the production database; the same code runs on both.
Every use case runs inside :func:`transaction`: it commits when the block finishes and rolls back
on any error, so bad input leaves nothing half-written.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from ketaclinic.errors import ConfigurationError
from ketaclinic.settings import Settings, get_settings

SessionFactory = sessionmaker[Session]


def configured_database_url(settings: Settings | None = None) -> str:
    """``KETACLINIC_DATABASE_URL``, else the SQLite file under ``KETACLINIC_DATA_DIR``."""
    return (settings or get_settings()).resolved_database_url()


def _enable_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The sqlite3 module opens and commits transactions on its own, which breaks savepoints and
    # transactional DDL; hand transaction control to SQLAlchemy (documented SQLAlchemy recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # SQLite ignores foreign keys unless asked, per connection: without this a diagnosis could point
    # at a patient that does not exist, which PostgreSQL would refuse.
    cursor.execute("PRAGMA foreign_keys=ON")
    # Readers (the web app) do not block the writer (a device feed) and vice versa.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _begin_sqlite_transaction(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; for SQLite the file's folder is created and foreign keys enforced."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigurationError(
            f"Database URL {parsed.render_as_string(hide_password=True)} is not supported: "
            "use sqlite:///PATH or postgresql+psycopg://USER@HOST/NAME."
        )
    if backend == "postgresql" and parsed.drivername == "postgresql":
        # psycopg 3 is the driver we ship; plain "postgresql://" would look for psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, **kwargs)
    if backend == "sqlite":
        event.listen(engine, "connect", _enable_sqlite_pragmas)
        event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def make_session_factory(engine: Engine) -> SessionFactory:
    # expire_on_commit=False: a service returns plain results after its transaction has ended.
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: SessionFactory) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error (and re-raise it)."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# The name used in the architecture notes; both spell the same thing.
session_scope = transaction


@contextmanager
def atomic(session: Session) -> Iterator[Session]:
    """Run one service's writes all-or-nothing inside the caller's session (a savepoint).

    The caller owns the transaction (usually :func:`transaction`) and commits it; if the block
    fails, only its own writes are undone, so a caller that catches the error cannot commit half.
    """
    with session.begin_nested():
        yield session
