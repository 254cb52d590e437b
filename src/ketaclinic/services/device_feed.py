"""The bedside device feed: batches of readings, each accepted, a duplicate, or rejected with why.

A monitor re-sends a batch whenever it is unsure the clinic received it, and readings may arrive
late or out of order, so the reading's own id (the sender's UUID) decides: an id already stored
with the same values is a duplicate and stores nothing; the same id with other values is rejected
(a reading is never silently replaced). A physiologically impossible value (below the physical
floor, above the plausibility limit, a diastolic not below its systolic) rejects its reading with
the field and the allowed range; it is never dropped or clamped. The floor is 0, so a monitor's
apnoea or desaturation reading is stored and raises its alert. Each reading is judged on
its own: one bad reading does not lose the good ones of its batch.

Devices authenticate with a per-device bearer token (allowed by the issue until the web sign-in
scheme covers devices); only the token's SHA-256 is stored. Tokens are 256-bit random values, so
a fast hash is enough (no password stretching needed).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketaclinic.clinical.sessions import record as core
from ketaclinic.clinical.sessions.alerts import Measures
from ketaclinic.clinical.sessions.lifecycle import SessionEvent
from ketaclinic.errors import InvalidInput, KetaclinicError, PermissionDenied
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import Actor, RequestContext
from ketaclinic.services.policy import clinic_policy
from ketaclinic.services.session_store import ReadingOrigin, load_record, persist, session_row
from ketaclinic.storage.database import atomic
from ketaclinic.storage.tables.sessions import BedsideDeviceRow
from ketaclinic.storage.tables.types import new_id

# Device clocks drift; a reading a little "in the future" is clock skew, not a real future value.
CLOCK_SKEW_ALLOWED = timedelta(minutes=2)
VITAL_FIELDS = (
    "systolic_mmhg",
    "diastolic_mmhg",
    "heart_rate_bpm",
    "spo2_percent",
    "respiratory_rate_per_min",
)
ReadingStatus = Literal["accepted", "duplicate", "rejected"]


class DeviceReading(BaseModel):
    """One reading as a bedside monitor sends it; any vital sign may be absent."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "3f1c2a9e-7b4d-4c1e-9a55-0c2f8e6d1b77",
                    "taken_at": "2026-03-02T09:55:00+00:00",
                    "systolic_mmhg": 142,
                    "diastolic_mmhg": 88,
                    "heart_rate_bpm": 84,
                    "spo2_percent": 97,
                    "respiratory_rate_per_min": 14,
                }
            ]
        },
    )
    id: str = Field(description="The device's UUID for this reading (idempotency key).")
    taken_at: datetime = Field(description="ISO 8601 time the reading was taken, with offset.")
    systolic_mmhg: float | None = None
    diastolic_mmhg: float | None = None
    heart_rate_bpm: float | None = None
    spo2_percent: float | None = None
    respiratory_rate_per_min: float | None = None


@dataclass(frozen=True)
class ReadingResult:
    id: str
    status: ReadingStatus
    reason: str | None = None
    alerts: tuple[str, ...] = field(default=())


def _reading_id(raw: Mapping[str, Any], index: int) -> str:
    value = raw.get("id") if isinstance(raw, Mapping) else None
    return str(value) if value is not None else f"(reading {index + 1} has no id)"


def _parse(raw: Mapping[str, Any], index: int) -> DeviceReading:
    if not isinstance(raw, Mapping):
        raise InvalidInput(f"Reading {index + 1} is not a JSON object.", field="readings")
    try:
        reading = DeviceReading.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'reading'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidInput(f"Not a valid reading: {problems}.", field="readings") from None
    try:
        uuid.UUID(reading.id)
    except ValueError:
        raise InvalidInput(f"id {reading.id!r} is not a UUID.", field="id") from None
    if reading.taken_at.tzinfo is None:
        raise InvalidInput("taken_at needs a time-zone offset (e.g. +00:00).", field="taken_at")
    if all(getattr(reading, name) is None for name in VITAL_FIELDS):
        raise InvalidInput(
            f"The reading has no value; send at least one of {', '.join(VITAL_FIELDS)}.",
            field="readings",
        )
    return reading


def _timing_problem(record: core.SessionRecord, taken_at: datetime, now: datetime) -> str | None:
    if taken_at > now + CLOCK_SKEW_ALLOWED:
        return f"taken_at {taken_at.isoformat()} is in the future; check the device clock."
    checked_in = record.step_time(SessionEvent.CHECK_IN)
    if checked_in is not None and taken_at < checked_in:
        return (
            f"taken_at {taken_at.isoformat()} is before check-in ({checked_in.isoformat()}); "
            "check the device clock or the session."
        )
    left = record.step_time(SessionEvent.DISCHARGE) or record.step_time(SessionEvent.ABORT)
    if left is not None and taken_at > left:
        return f"taken_at {taken_at.isoformat()} is after the patient left ({left.isoformat()})."
    return None


def _judge(
    batch: core.ObservationBatch,
    record: core.SessionRecord,
    raw: Mapping[str, Any],
    index: int,
    ctx: RequestContext,
) -> ReadingResult:
    rid = _reading_id(raw, index)
    try:
        reading = _parse(raw, index)
        measures = Measures(**reading.model_dump(include=set(VITAL_FIELDS)))
        observation = core.Observation(
            id=reading.id, taken_at=reading.taken_at, measures=measures,
            recorded_by=ctx.actor.display_name,
        )  # fmt: skip
    except InvalidInput as exc:
        return ReadingResult(rid, "rejected", exc.message)
    stored = batch.stored(reading.id)
    if stored is not None:
        same = stored.taken_at == observation.taken_at and stored.measures == measures
        if same:
            return ReadingResult(rid, "duplicate", "Already stored; nothing changed.")
        return ReadingResult(
            rid, "rejected", "This id was already stored with different values; a reading is "
            "never replaced. Send a correction with a new id.",
        )  # fmt: skip
    problem = _timing_problem(record, reading.taken_at, ctx.now)
    if problem is not None:
        return ReadingResult(rid, "rejected", problem)
    try:
        alerts = batch.add(observation)
    except KetaclinicError as exc:
        return ReadingResult(rid, "rejected", exc.message)
    return ReadingResult(rid, "accepted", None, tuple(a.finding.rule_id for a in alerts))


def receive_readings(
    db: Session,
    ctx: RequestContext,
    session_id: str,
    readings: Sequence[Mapping[str, Any]],
    *,
    device_id: str | None = None,
) -> list[ReadingResult]:
    """Judge and store a batch; returns one result per reading, in the order sent."""
    if not readings:
        raise InvalidInput("The batch has no readings.", field="readings")
    method = f"device:{device_id}" if device_id else "manual"
    for attempt in (1, 2):
        try:
            return _receive(db, ctx, session_id, readings, method)
        except IntegrityError:
            # A concurrent copy of this batch stored the same ids first: judge again against it.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _receive(
    db: Session,
    ctx: RequestContext,
    session_id: str,
    readings: Sequence[Mapping[str, Any]],
    method: str,
) -> list[ReadingResult]:
    with atomic(db):
        row = session_row(db, session_id, for_update=True)
        incoming = {str(r["id"]) for r in readings if isinstance(r, Mapping) and "id" in r}
        before = load_record(db, row, judging=incoming)
        batch = core.ObservationBatch(before, clinic_policy(db, before.protocol_kind))
        results = [_judge(batch, before, raw, index, ctx) for index, raw in enumerate(readings)]
        accepted = [r for r in results if r.status == "accepted"]
        if accepted:
            row.updated_at = ctx.now
            origin = ReadingOrigin(method)
            persist(db, row, before, batch.record(), origins={r.id: origin for r in accepted})
        record_event(
            db, ctx.actor, "session.vitals.receive", "session", session_id,
            patient_id=row.patient_id,
            detail={
                "accepted": len(accepted),
                "duplicate": sum(r.status == "duplicate" for r in results),
                "rejected": sum(r.status == "rejected" for r in results),
                "alerts": sorted({a for r in accepted for a in r.alerts}),
            },
            now=ctx.now,
        )  # fmt: skip
    return results


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def register_device(db: Session, ctx: RequestContext, name: str) -> tuple[str, str]:
    """A new bedside device; returns (device id, token). The token is shown once, never stored."""
    if ctx.actor.role not in ("administrator", "system"):
        raise PermissionDenied("Only an administrator may register a bedside device.")
    if len(name.strip()) < 2:
        raise InvalidInput("Name the device (e.g. 'Chair 3 monitor').", field="name")
    token = secrets.token_urlsafe(32)
    device_id = new_id()
    with atomic(db):
        db.add(
            BedsideDeviceRow(
                id=device_id, name=name.strip(), token_sha256=_token_hash(token), active=True,
                registered_by=ctx.actor.display_name, created_at=ctx.now, updated_at=ctx.now,
            )
        )  # fmt: skip
        db.flush()
        record_event(
            db, ctx.actor, "device.register", "bedside_device", device_id,
            detail={"name": name.strip()}, now=ctx.now,
        )  # fmt: skip
    return device_id, token


def revoke_device(db: Session, ctx: RequestContext, device_id: str) -> None:
    if ctx.actor.role not in ("administrator", "system"):
        raise PermissionDenied("Only an administrator may revoke a bedside device.")
    with atomic(db):
        row = db.get(BedsideDeviceRow, device_id)
        if row is None:
            raise InvalidInput(f"No device {device_id}.", field="device_id")
        row.active, row.updated_at = False, ctx.now
        record_event(db, ctx.actor, "device.revoke", "bedside_device", device_id, now=ctx.now)


def device_actor(db: Session, token: str) -> tuple[str, Actor] | None:
    """The (device id, actor) a bearer token belongs to, or None for an unknown/revoked token."""
    row = db.scalars(
        select(BedsideDeviceRow).where(BedsideDeviceRow.token_sha256 == _token_hash(token))
    ).first()
    if row is None or not row.active:
        return None
    return row.id, Actor(user_id=None, role="device", display_name=f"device {row.name}")
