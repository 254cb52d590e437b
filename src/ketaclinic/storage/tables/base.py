"""The declarative base every table derives from.

A fixed constraint naming convention gives every index and constraint a predictable name, so
Alembic migrations (SQLite batch mode included) can find and alter them on both databases.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ketaclinic.storage.tables.types import UTCDateTime, UUIDString, new_id

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UUIDPrimaryKey:
    """A string UUID primary key, generated in Python so callers know the id before the flush."""

    id: Mapped[str] = mapped_column(UUIDString(), primary_key=True, default=new_id)


class Timestamps:
    """When the row was written; clinical times (observed_at, administered_at) are own columns."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
