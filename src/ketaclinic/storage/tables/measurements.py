"""Measurements: observations (vital signs, any other measured value) and questionnaire responses.

A questionnaire response keeps every item answer as its own row, not only the total, so a score can
be re-derived and audited, and a researcher can analyse single items (e.g. PHQ-9 item 9).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ketaclinic.storage.tables.base import Base, UUIDPrimaryKey
from ketaclinic.storage.tables.types import UTCDateTime, UUIDString


class ObservationRow(UUIDPrimaryKey, Base):
    __tablename__ = "observations"
    __table_args__ = (
        Index("ix_observations_patient_kind_time", "patient_id", "kind", "observed_at"),
    )

    patient_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("patients.id", ondelete="CASCADE"), nullable=False
    )
    # A vital-sign kind (systolic_mmhg, weight_kg, ...) or a free code for another measured value.
    kind: Mapped[str] = mapped_column(String(60), nullable=False)
    value: Mapped[float] = mapped_column(Float, nullable=False)
    unit: Mapped[str] = mapped_column(String(30), nullable=False)
    loinc_code: Mapped[str | None] = mapped_column(String(20))
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    recorded_by: Mapped[str | None] = mapped_column(String(200))
    # "manual", "device:<id>", "import": where the number came from.
    method: Mapped[str] = mapped_column(String(60), nullable=False, default="manual")
    # Free link to the context (a treatment session id, for example) owned by other modules.
    context_id: Mapped[str | None] = mapped_column(String(36))
    notes: Mapped[str | None] = mapped_column(Text)


class QuestionnaireResponseRow(UUIDPrimaryKey, Base):
    __tablename__ = "questionnaire_responses"
    __table_args__ = (
        Index(
            "ix_questionnaire_responses_patient_instr",
            "patient_id",
            "instrument_id",
            "administered_at",
        ),
    )

    patient_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("patients.id", ondelete="CASCADE"), nullable=False
    )
    instrument_id: Mapped[str] = mapped_column(String(40), nullable=False)
    # Which version of the instrument definition produced the score (definitions are data).
    definition_version: Mapped[str] = mapped_column(String(200), nullable=False)
    total: Mapped[float] = mapped_column(Float, nullable=False)
    severity: Mapped[str | None] = mapped_column(String(40))
    severity_label: Mapped[str | None] = mapped_column(String(200))
    subscales: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    alerts: Mapped[list[Any]] = mapped_column(JSON, nullable=False, default=list)
    extras: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    # The settings besides the answers that produced severity and extras (ScoringSettings: the
    # cut-off each configurable rule applied, the band set, the pre-dose total), so the score can
    # be re-derived from the item answers. Null for responses stored before it was recorded.
    scoring_settings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    administered_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    recorded_by: Mapped[str | None] = mapped_column(String(200))
    context_id: Mapped[str | None] = mapped_column(String(36))


class QuestionnaireItemAnswerRow(Base):
    __tablename__ = "questionnaire_item_answers"
    __table_args__ = (UniqueConstraint("response_id", "item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    response_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("questionnaire_responses.id", ondelete="CASCADE"), nullable=False
    )
    item_id: Mapped[str] = mapped_column(String(40), nullable=False)
    # 1-based position in the instrument's published item order.
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    value: Mapped[float] = mapped_column(Float, nullable=False)
