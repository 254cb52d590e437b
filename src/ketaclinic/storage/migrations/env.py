"""Alembic environment: runs the migrations on the connection handed over by ``migrate.py``.

SQLite cannot ALTER most things in place, so migrations run in batch mode there (copy-and-move),
which is also what autogenerate renders, so one revision file works on both databases.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

import ketaclinic.storage.tables as tables
from ketaclinic.storage.database import make_engine
from ketaclinic.storage.tables.types import UTCDateTime, UUIDString

config = context.config
target_metadata = tables.Base.metadata


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # Render our column types by their import path in the revision template, not as opaque reprs.
    if type_ == "type" and isinstance(obj, UTCDateTime | UUIDString):
        autogen_context.imports.add("from ketaclinic.storage.tables import types as kt")
        return f"kt.{type(obj).__name__}()"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=_render_item,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.attributes["database_url"])
    try:
        with engine.connect() as new_connection:
            _run(new_connection)
            new_connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("ketaclinic migrations run online only: use `ketaclinic db upgrade`.")
run_migrations_online()
