"""Clinic policy overrides: every change an administrator makes to a session threshold.

Append-only: the newest row per (protocol kind, parameter) is in force; ``reverted`` marks a return
to the sourced default. Who changed what, to which value, why and when is therefore always known.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ketaclinic.storage.tables.base import Base, UUIDPrimaryKey
from ketaclinic.storage.tables.types import UTCDateTime


class PolicyOverrideRow(UUIDPrimaryKey, Base):
    __tablename__ = "clinic_policy_overrides"
    __table_args__ = (
        Index("ix_clinic_policy_overrides_kind_param", "protocol_kind", "parameter_id"),
    )

    protocol_kind: Mapped[str] = mapped_column(String(40), nullable=False)
    parameter_id: Mapped[str] = mapped_column(String(80), nullable=False)
    # None with reverted False: the clinic switched an optional check off.
    value: Mapped[float | None] = mapped_column(Float)
    reverted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    previous_value: Mapped[float | None] = mapped_column(Float)
    default_value: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    changed_by: Mapped[str] = mapped_column(String(200), nullable=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
