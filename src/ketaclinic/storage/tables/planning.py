"""Screening decisions, eligibility overrides, treatment plans, plan calendars, dose overrides.

A screening row keeps the whole decision (every finding as JSON) and the exact input it was made
on, so a reviewer can see later what was known and why the answer was what it was. Nothing here is
edited to change history: an override produces a new screening row that ``supersedes`` the old
one; an amended plan is a new version pointing at the one it replaces; a rescheduled session is
marked ``rescheduled`` and its replacement is a new calendar row.
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

# Plan status: draft -> signed -> active -> completed, or stopped / superseded (by a new version).
PLAN_STATUSES = ("draft", "signed", "active", "completed", "stopped", "superseded")
# Calendar entry status; "rescheduled" means a later row replaced this one.
SESSION_STATUSES = ("planned", "missed", "rescheduled", "done", "cancelled")


class ScreeningRow(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "screenings"
    __table_args__ = (Index("ix_screenings_patient_treatment", "patient_id", "treatment"),)

    patient_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("patients.id", ondelete="CASCADE"), nullable=False
    )
    treatment: Mapped[str] = mapped_column(String(40), nullable=False)
    rule_set: Mapped[str] = mapped_column(String(60), nullable=False)
    decision: Mapped[str] = mapped_column(String(40), nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    # The EligibilityDecision as JSON: findings, reasons, actions, citations, overrides used.
    decision_json: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    # The ScreeningInput the decision was made on, and where each fact came from.
    input_json: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    provenance_json: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    screened_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    screened_by_user_id: Mapped[str | None] = mapped_column(String(36))
    screened_by_name: Mapped[str] = mapped_column(String(200), nullable=False)
    # Set when this row re-decides an earlier screening after a prescriber's override.
    supersedes_id: Mapped[str | None] = mapped_column(
        UUIDString(), ForeignKey("screenings.id", ondelete="SET NULL")
    )


class EligibilityOverrideRow(UUIDPrimaryKey, Base):
    """A prescriber accepting a blocking finding, with the written reason, who and when."""

    __tablename__ = "eligibility_overrides"
    __table_args__ = (Index("ix_eligibility_overrides_patient_id", "patient_id"),)

    patient_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("patients.id", ondelete="CASCADE"), nullable=False
    )
    # The screening whose findings were overridden (the re-decided row supersedes it).
    screening_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("screenings.id", ondelete="CASCADE"), nullable=False
    )
    rule_ids: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    prescriber_user_id: Mapped[str | None] = mapped_column(String(36))
    prescriber_name: Mapped[str] = mapped_column(String(200), nullable=False)
    overridden_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class TreatmentPlanRow(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "treatment_plans"
    __table_args__ = (Index("ix_treatment_plans_patient_id", "patient_id"),)

    patient_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("patients.id", ondelete="CASCADE"), nullable=False
    )
    protocol_id: Mapped[str] = mapped_column(String(60), nullable=False)
    screening_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("screenings.id", ondelete="RESTRICT"), nullable=False
    )
    prescriber_user_id: Mapped[str | None] = mapped_column(String(36))
    prescriber_name: Mapped[str] = mapped_column(String(200), nullable=False)
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    maintenance_option: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    previous_version_id: Mapped[str | None] = mapped_column(
        UUIDString(), ForeignKey("treatment_plans.id", ondelete="SET NULL")
    )
    amendment_reason: Mapped[str | None] = mapped_column(Text)
    # What the prescriber asked for; the computed dose of the first session is in dose_json.
    dose_mg_per_kg: Mapped[float | None] = mapped_column(Float)
    dose_mg: Mapped[float | None] = mapped_column(Float)
    # A fixed-dose plan's first session when it differs from the rest ("56 mg, then 84 mg").
    first_session_dose_mg: Mapped[float | None] = mapped_column(Float)
    weight_policy: Mapped[str] = mapped_column(String(20), nullable=False)
    regional_profile: Mapped[str | None] = mapped_column(String(60))
    concentration_mg_per_ml: Mapped[float | None] = mapped_column(Float)
    bag_ml: Mapped[float | None] = mapped_column(Float)
    duration_min: Mapped[float | None] = mapped_column(Float)
    dose_json: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    # Weekday numbers (0 = Monday) the clinic doses on, and closed dates, as used for the calendar.
    clinic_days: Mapped[list[int]] = mapped_column(JSON, nullable=False)
    holidays: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    signed_by_user_id: Mapped[str | None] = mapped_column(String(36))
    signed_by_name: Mapped[str | None] = mapped_column(String(200))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stopped_reason: Mapped[str | None] = mapped_column(Text)


class PlanSessionRow(UUIDPrimaryKey, Base):
    """One entry of a plan's calendar; ``sequence`` only grows, so history is never rewritten."""

    __tablename__ = "plan_sessions"
    __table_args__ = (UniqueConstraint("plan_id", "sequence"),)

    plan_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("treatment_plans.id", ondelete="CASCADE"), nullable=False
    )
    sequence: Mapped[int] = mapped_column(Integer, nullable=False)
    scheduled_on: Mapped[date] = mapped_column(Date, nullable=False)
    phase_id: Mapped[str] = mapped_column(String(60), nullable=False)
    phase_kind: Mapped[str] = mapped_column(String(20), nullable=False)
    number_in_phase: Mapped[int] = mapped_column(Integer, nullable=False)
    sessions_per_week: Mapped[float] = mapped_column(Float, nullable=False)
    min_interval_days: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    # The calendar row this one replaces after a missed session.
    replaces_sequence: Mapped[int | None] = mapped_column(Integer)
    review_action: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class DoseLimitOverrideRow(UUIDPrimaryKey, Base):
    """A prescriber allowing a dose beyond a protocol's hard limit, with reason, who and when."""

    __tablename__ = "dose_limit_overrides"
    __table_args__ = (Index("ix_dose_limit_overrides_plan_id", "plan_id"),)

    plan_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("treatment_plans.id", ondelete="CASCADE"), nullable=False
    )
    patient_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("patients.id", ondelete="CASCADE"), nullable=False
    )
    limit_ids: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    prescriber_user_id: Mapped[str | None] = mapped_column(String(36))
    prescriber_name: Mapped[str] = mapped_column(String(200), nullable=False)
    overridden_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class ClinicSettingChangeRow(UUIDPrimaryKey, Base):
    """A clinic setting a protocol or the screening rules declare configurable, changed.

    Append-only like the clinic policy overrides: the newest row per (scope, setting) is in force;
    ``reverted`` marks a return to the sourced value. ``scope`` is ``protocol:<protocol id>`` or
    ``screening``. Values are JSON because some are lists (titration steps) or choices.
    """

    __tablename__ = "clinic_setting_changes"
    __table_args__ = (Index("ix_clinic_setting_changes_scope_setting", "scope", "setting_id"),)

    scope: Mapped[str] = mapped_column(String(80), nullable=False)
    setting_id: Mapped[str] = mapped_column(String(80), nullable=False)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    reverted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    previous_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    default_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    changed_by: Mapped[str] = mapped_column(String(200), nullable=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
