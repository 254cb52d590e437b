"""Fresh, migrated, empty databases for each test, fast.

The migrations run once per test process into a template; each test then gets a copy: on
PostgreSQL ``CREATE DATABASE x TEMPLATE tmpl`` (a file-level copy), on SQLite a copy of the file.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from ketaclinic.storage.migrate import upgrade
from support.postgres import PostgresServer, fast_temp_dir, start_postgres

BACKENDS = ("sqlite", "postgresql")
TEMPLATE_DB = "ketaclinic_template"


class SQLiteDatabases:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="ketaclinic-sqlite-", dir=fast_temp_dir()))
        self._counter = itertools.count(1)
        self._template: Path | None = None

    def _migrated_template(self) -> Path:
        if self._template is None:
            template = self.root / "template.db"
            upgrade(f"sqlite:///{template}")
            self._template = template
        return self._template

    def create(self, *, migrated: bool = True) -> str:
        path = self.root / f"test_{next(self._counter)}.db"
        if migrated:
            shutil.copyfile(self._migrated_template(), path)
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        base = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{base}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class PostgresDatabases:
    def __init__(self) -> None:
        self.server: PostgresServer = start_postgres()
        self._counter = itertools.count(1)
        self._admin = create_engine(
            self.server.url("postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
        )
        self._template_ready = False
        self._prefix = f"t{os.getpid()}"

    def _execute(self, sql: str) -> None:
        with self._admin.connect() as connection:
            connection.execute(text(sql))

    def _migrated_template(self) -> str:
        if not self._template_ready:
            self._execute(f"CREATE DATABASE {TEMPLATE_DB}")
            # The migration engine is disposed inside upgrade(): a template must have no sessions.
            upgrade(self.server.url(TEMPLATE_DB))
            self._template_ready = True
        return TEMPLATE_DB

    def create(self, *, migrated: bool = True) -> str:
        name = f"{self._prefix}_{next(self._counter)}"
        template = self._migrated_template() if migrated else "template0"
        self._execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        return self.server.url(name)

    def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        # FORCE ends any connection a test left open (PostgreSQL 13+).
        self._execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        self._admin.dispose()
        self.server.stop()


class DatabaseProvider:
    """One per test process; the PostgreSQL server starts only when a test first asks for it."""

    def __init__(self) -> None:
        self._sqlite: SQLiteDatabases | None = None
        self._postgres: PostgresDatabases | None = None

    def backend(self, name: str) -> SQLiteDatabases | PostgresDatabases:
        if name == "sqlite":
            if self._sqlite is None:
                self._sqlite = SQLiteDatabases()
            return self._sqlite
        if name == "postgresql":
            if self._postgres is None:
                self._postgres = PostgresDatabases()
            return self._postgres
        raise ValueError(f"unknown database backend {name!r}; expected one of {BACKENDS}")

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
        if self._postgres is not None:
            self._postgres.close()
