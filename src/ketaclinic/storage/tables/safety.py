"""Safety across a course: adverse events, tasks, flags, bladder screens and misuse signals.

Nothing here is deleted: a task is completed, a flag is resolved, each with who and when, so the
chart shows what was known and done at every moment.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ketaclinic.storage.tables.base import Base, Timestamps, UUIDPrimaryKey
from ketaclinic.storage.tables.types import UTCDateTime, UUIDString


class AdverseEventRow(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "adverse_events"
    __table_args__ = (Index("ix_adverse_events_patient_onset", "patient_id", "onset_at"),)

    patient_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("patients.id", ondelete="CASCADE"), nullable=False
    )
    session_id: Mapped[str | None] = mapped_column(
        UUIDString(), ForeignKey("supervised_sessions.id", ondelete="SET NULL")
    )
    verbatim_term: Mapped[str] = mapped_column(Text, nullable=False)
    # A curated preferred term id (clinical/data/adverse_event_terms.yaml).
    term_id: Mapped[str] = mapped_column(String(60), nullable=False)
    onset_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    severity: Mapped[str] = mapped_column(String(20), nullable=False)
    # Seriousness criterion ids; an empty list means not serious.
    seriousness: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    relatedness: Mapped[str] = mapped_column(String(20), nullable=False)
    action_taken: Mapped[str] = mapped_column(String(30), nullable=False)
    outcome: Mapped[str] = mapped_column(String(30), nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class SafetyTaskRow(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "safety_tasks"
    __table_args__ = (Index("ix_safety_tasks_status_due", "status", "due_at"),)

    patient_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("patients.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    source: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    assignee_role: Mapped[str] = mapped_column(String(30), nullable=False)
    assignee: Mapped[str | None] = mapped_column(String(200))
    # The adverse event, screen or session that created the task.
    related_id: Mapped[str | None] = mapped_column(String(80))
    # "open" or "done".
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="open")
    completed_by: Mapped[str | None] = mapped_column(String(200))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completion_note: Mapped[str | None] = mapped_column(Text)


class SafetyFlagRow(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "safety_flags"
    __table_args__ = (Index("ix_safety_flags_patient_status", "patient_id", "status"),)

    patient_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("patients.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    source: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    for_role: Mapped[str] = mapped_column(String(30), nullable=False)
    severity: Mapped[str] = mapped_column(String(20), nullable=False)
    related_id: Mapped[str | None] = mapped_column(String(80))
    # "open" or "resolved".
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="open")
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution_note: Mapped[str | None] = mapped_column(Text)


class BladderScreenRow(UUIDPrimaryKey, Base):
    __tablename__ = "bladder_screens"
    __table_args__ = (Index("ix_bladder_screens_patient_taken", "patient_id", "taken_at"),)

    patient_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("patients.id", ondelete="CASCADE"), nullable=False
    )
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    # Symptom ids from clinical/data/surveillance.yaml; empty means none reported.
    symptoms: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class MisuseSignalRow(UUIDPrimaryKey, Base):
    __tablename__ = "misuse_signals"
    __table_args__ = (Index("ix_misuse_signals_patient_at", "patient_id", "at"),)

    patient_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("patients.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    detail: Mapped[str] = mapped_column(Text, nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)
