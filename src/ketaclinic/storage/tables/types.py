"""Column types shared by every table.

SQLite has no time-zone-aware timestamp: it stores the text it is given and hands back a naive
datetime. Clinical times must compare correctly across the two databases (a blood pressure
"40 minutes after the dose" is arithmetic on two timestamps), so every timestamp is stored as UTC
and always comes back aware.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

UUID_LENGTH = 36


def new_id() -> str:
    """A random string UUID: the primary key of a clinical record (later a FHIR id)."""
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime, stored in UTC, returned aware (UTC) on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            # A naive time is ambiguous (clinic local time? UTC?): refuse it rather than guess.
            raise ValueError(f"timestamp {value.isoformat()} has no time zone; give an aware one")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class UUIDString(TypeDecorator[str]):
    """A 36-character string UUID (portable: the same text on SQLite and PostgreSQL)."""

    impl = String(UUID_LENGTH)
    cache_ok = True
