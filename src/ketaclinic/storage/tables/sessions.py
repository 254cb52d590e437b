"""Supervised sessions: the session, its steps, MAR, readings, alerts, addenda and REMS forms.

The clinical core keeps a session as one immutable ``SessionRecord``; here it is spread over rows
a clinician or an auditor can query (every step with its time and person, every reading with its
client id, every alert with its acknowledgement). Rows are only ever appended, except the few
columns a later step fills in (an alert's acknowledgement, the end of dosing, the signature), so
a signed record plus its addenda is the whole history.

The device feed's idempotency rests on ``uq_session_readings_session_id`` over
(session_id, client_id): a re-sent reading can never be stored twice, even by two concurrent
requests.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ketaclinic.storage.tables.base import Base, Timestamps, UUIDPrimaryKey
from ketaclinic.storage.tables.types import UTCDateTime, UUIDString


class SupervisedSessionRow(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "supervised_sessions"
    __table_args__ = (
        Index("ix_supervised_sessions_scheduled_for", "scheduled_for"),
        Index("ix_supervised_sessions_patient_id", "patient_id"),
        # One booked session per plan calendar entry, even under concurrent bookings (a missed
        # session's replacement is a new calendar entry, so rescheduling never collides).
        Index("uq_supervised_sessions_plan_session_id", "plan_session_id", unique=True),
    )

    patient_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("patients.id", ondelete="CASCADE"), nullable=False
    )
    # The plan calendar entry this session carries out; nullable: walk-in and demo sessions.
    plan_session_id: Mapped[str | None] = mapped_column(
        UUIDString(), ForeignKey("plan_sessions.id", ondelete="SET NULL")
    )
    protocol_kind: Mapped[str] = mapped_column(String(40), nullable=False)
    protocol_id: Mapped[str | None] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(30), nullable=False)
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    chair: Mapped[str | None] = mapped_column(String(40))
    room: Mapped[str | None] = mapped_column(String(40))
    responsible_clinician: Mapped[str | None] = mapped_column(String(200))
    weight_kg: Mapped[float | None] = mapped_column(Float)
    with_bprs: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # The pre-dose result (items with their sources and decisions) as the core produced it.
    predose: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    signed_by: Mapped[str | None] = mapped_column(String(200))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SessionStepRow(Base):
    """One lifecycle step: what happened, from which state to which, when and by whom."""

    __tablename__ = "session_steps"
    __table_args__ = (UniqueConstraint("session_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("supervised_sessions.id", ondelete="CASCADE"), nullable=False
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    event: Mapped[str] = mapped_column(String(30), nullable=False)
    from_state: Mapped[str] = mapped_column(String(30), nullable=False)
    to_state: Mapped[str] = mapped_column(String(30), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    by: Mapped[str] = mapped_column(String(200), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)


class SessionDosingRow(Base):
    """The medication administration record of one session (one per session)."""

    __tablename__ = "session_dosing"

    session_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("supervised_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    product: Mapped[str] = mapped_column(String(120), nullable=False)
    formulation: Mapped[str] = mapped_column(String(120), nullable=False)
    lot_number: Mapped[str] = mapped_column(String(60), nullable=False)
    concentration_mg_per_ml: Mapped[float | None] = mapped_column(Float)
    dose_mg: Mapped[float] = mapped_column(Float, nullable=False)
    dose_mg_per_kg: Mapped[float | None] = mapped_column(Float)
    route: Mapped[str] = mapped_column(String(20), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    initial_rate_mg_per_h: Mapped[float | None] = mapped_column(Float)
    administered_by: Mapped[str] = mapped_column(String(200), nullable=False)
    supervised_by: Mapped[str] = mapped_column(String(200), nullable=False)
    stop_note: Mapped[str | None] = mapped_column(Text)


class SessionDosingEventRow(Base):
    """A device, rate change, pause or resume, in the order it was charted."""

    __tablename__ = "session_dosing_events"
    __table_args__ = (UniqueConstraint("session_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("supervised_sessions.id", ondelete="CASCADE"), nullable=False
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    by: Mapped[str] = mapped_column(String(200), nullable=False)
    device_mg: Mapped[float | None] = mapped_column(Float)
    rate_mg_per_h: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str | None] = mapped_column(Text)


class SessionReadingRow(Base):
    """Vital signs and/or scale scores at one time, from a bedside device or a nurse."""

    __tablename__ = "session_readings"
    __table_args__ = (
        UniqueConstraint("session_id", "client_id"),
        Index("ix_session_readings_session_taken", "session_id", "taken_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("supervised_sessions.id", ondelete="CASCADE"), nullable=False
    )
    # The sender's id for the reading (the device's UUID): re-sending it stores nothing.
    client_id: Mapped[str] = mapped_column(String(80), nullable=False)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    # "manual" or "device:<device id>".
    method: Mapped[str] = mapped_column(String(60), nullable=False)
    systolic_mmhg: Mapped[float | None] = mapped_column(Float)
    diastolic_mmhg: Mapped[float | None] = mapped_column(Float)
    heart_rate_bpm: Mapped[float | None] = mapped_column(Float)
    spo2_percent: Mapped[float | None] = mapped_column(Float)
    respiratory_rate_per_min: Mapped[float | None] = mapped_column(Float)
    moaas: Mapped[int | None] = mapped_column(Integer)
    cadss_total: Mapped[float | None] = mapped_column(Float)
    bprs_positive_total: Mapped[float | None] = mapped_column(Float)
    phq9_item9: Mapped[int | None] = mapped_column(Integer)
    cssrs_risk: Mapped[str | None] = mapped_column(String(20))
    # The stored questionnaire a scale score came from, when it was given as a full form.
    questionnaire_response_id: Mapped[str | None] = mapped_column(
        UUIDString(), ForeignKey("questionnaire_responses.id", ondelete="SET NULL")
    )


class SessionAlertRow(Base):
    __tablename__ = "session_alerts"
    __table_args__ = (Index("ix_session_alerts_session_id", "session_id"),)

    # The core's alert id ("<session id>-alert-<n>"), stable across loads.
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    session_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("supervised_sessions.id", ondelete="CASCADE"), nullable=False
    )
    rule_id: Mapped[str] = mapped_column(String(60), nullable=False)
    severity: Mapped[str] = mapped_column(String(20), nullable=False)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    reading_client_id: Mapped[str | None] = mapped_column(String(80))
    # Title, message, suggested action, source and verification as the rule produced them.
    finding: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledgement_note: Mapped[str | None] = mapped_column(Text)


class SessionDischargeRow(Base):
    """The discharge assessment the session was marked ready or discharged on."""

    __tablename__ = "session_discharge_assessments"

    session_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("supervised_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    escort_present: Mapped[bool] = mapped_column(Boolean, nullable=False)
    observation_minutes: Mapped[float | None] = mapped_column(Float)
    clinically_ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The REMS "ready to leave without the 2-hour rule" minutes.
    clinically_ready_minutes: Mapped[float | None] = mapped_column(Float)
    unmet: Mapped[list[Any]] = mapped_column(JSON, nullable=False, default=list)


class SessionAddendumRow(Base):
    __tablename__ = "session_addenda"
    __table_args__ = (UniqueConstraint("session_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("supervised_sessions.id", ondelete="CASCADE"), nullable=False
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    by: Mapped[str] = mapped_column(String(200), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)


class RemsFormRow(UUIDPrimaryKey, Timestamps, Base):
    """The SPRAVATO REMS Patient Monitoring Form of one esketamine session."""

    __tablename__ = "rems_forms"
    __table_args__ = (Index("ix_rems_forms_due_date", "due_date"),)

    session_id: Mapped[str] = mapped_column(
        UUIDString(),
        ForeignKey("supervised_sessions.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    )
    patient_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("patients.id", ondelete="CASCADE"), nullable=False
    )
    form_version: Mapped[str] = mapped_column(String(200), nullable=False)
    # The form's fields (ketaclinic.clinical.rems.RemsMonitoringForm) as JSON.
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    # What a clinician answered or corrected, kept over any later regeneration from the record.
    clinician_answers: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    due_date: Mapped[date] = mapped_column(Date, nullable=False)
    finalised_by: Mapped[str | None] = mapped_column(String(200))
    finalised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submission_reference: Mapped[str | None] = mapped_column(String(120))


class BedsideDeviceRow(UUIDPrimaryKey, Timestamps, Base):
    """A bedside monitor allowed to post readings; only the SHA-256 of its token is kept."""

    __tablename__ = "bedside_devices"

    name: Mapped[str] = mapped_column(String(120), nullable=False)
    token_sha256: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    registered_by: Mapped[str] = mapped_column(String(200), nullable=False)
