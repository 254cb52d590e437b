"""Dosing use cases of a supervised session: start the MAR with the signed plan's dose (or an
overridden one), record each device, rate change or pause, end dosing.

The dose given is checked against the session's signed plan and the protocol's limits
(``services.session_plan``): another dose needs a prescriber's override with a written reason.
Each device must be the protocol's device; one given sooner than the protocol's spacing is
recorded as it happened, flagged in the audit entry and shown on the monitor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ketaclinic.clinical.sessions import mar
from ketaclinic.clinical.sessions import record as core
from ketaclinic.clinical.sessions.lifecycle import SessionEvent, SessionState, transition
from ketaclinic.errors import InvalidInput
from ketaclinic.services.context import RequestContext
from ketaclinic.services.session_plan import (
    early_devices,
    judge_dose,
    record_dose_override,
    require_dose_allowed,
    session_protocol,
)
from ketaclinic.services.session_steps import apply_step as _apply
from ketaclinic.services.session_steps import charted_time as _when
from ketaclinic.services.session_store import session_row
from ketaclinic.storage.database import atomic


def start_dosing(
    db: Session,
    ctx: RequestContext,
    session_id: str,
    *,
    product: str,
    formulation: str,
    lot_number: str,
    dose_mg: float,
    administered_by: str,
    supervised_by: str,
    concentration_mg_per_ml: float | None = None,
    initial_rate_mg_per_h: float | None = None,
    started_at: datetime | None = None,
    override_reason: str | None = None,
) -> core.SessionRecord:
    """Start the MAR with the dose given. It must be the signed plan's dose for this session;
    another dose, or one beyond a protocol limit, is refused (``OverrideRequired``) unless a
    prescriber's override with a written reason covers it. A prescriber starting the dose may
    give that reason now (``override_reason``); it is stored with who and when."""
    when = _when(ctx, started_at, "started_at")

    def step(record: core.SessionRecord) -> core.SessionRecord:
        dosing = mar.start_record(
            product=product, formulation=formulation, lot_number=lot_number, dose_mg=dose_mg,
            route=record.protocol_kind.route, started_at=when, administered_by=administered_by,
            supervised_by=supervised_by, weight_kg=record.weight_kg,
            concentration_mg_per_ml=concentration_mg_per_ml,
            initial_rate_mg_per_h=initial_rate_mg_per_h,
        )  # fmt: skip
        return core.start_dosing(record, dosing, by=ctx.actor.display_name)

    with atomic(db):
        row = session_row(db, session_id, for_update=True)
        transition(SessionState(row.state), SessionEvent.START_DOSING)
        decision = require_dose_allowed(db, ctx, row, dose_mg, override_reason=override_reason)
        return _apply(
            db, ctx, session_id, "dosing.start", step,
            detail={"product": product, "lot_number": lot_number, "dose_mg": dose_mg,
                    "planned_dose_mg": decision.planned_mg,
                    "overrides": list(decision.needs)},
            event=SessionEvent.START_DOSING,
        )  # fmt: skip


def override_session_dose(
    db: Session, ctx: RequestContext, session_id: str, *, dose_mg: float, reason: str
) -> list[str]:
    """A prescriber allows ``dose_mg`` in this session (instead of the signed plan's dose, or
    beyond a protocol limit) with a written reason; returns the limit ids it covers (none when
    ``dose_mg`` is the planned dose and within every limit)."""
    with atomic(db):
        row = session_row(db, session_id, for_update=True)
        decision = judge_dose(db, ctx, row, dose_mg)
        if decision.needs:
            record_dose_override(db, ctx, row, dose_mg, list(decision.needs), reason)
        return list(decision.needs)


def add_dosing_event(
    db: Session,
    ctx: RequestContext,
    session_id: str,
    kind: mar.DosingEventKind | str,
    *,
    at: datetime | None = None,
    device_mg: float | None = None,
    rate_mg_per_h: float | None = None,
    reason: str | None = None,
) -> core.SessionRecord:
    """A nasal device, a rate change, a pause or a resume, charted with its time.

    A device must be the protocol's device (28 mg for SPRAVATO). One given sooner after the
    previous than the protocol's spacing is recorded as it happened and flagged in the audit
    entry; the monitor and the record show it (``early_devices``).
    """
    try:
        event_kind = mar.DosingEventKind(kind)
    except ValueError:
        allowed = ", ".join(k.value for k in mar.DosingEventKind)
        raise InvalidInput(
            f"Unknown dosing event {kind!r}; use one of {allowed}.", field="kind"
        ) from None
    when = _when(ctx, at)
    try:
        event = mar.DosingEvent(
            kind=event_kind, at=when, by=ctx.actor.display_name, device_mg=device_mg,
            rate_mg_per_h=rate_mg_per_h, reason=reason,
        )  # fmt: skip
    except ValueError as exc:
        raise InvalidInput(f"Dosing event not recorded: {exc}", field="event") from exc
    protocol = session_protocol(db, session_row(db, session_id))
    devices = protocol.devices if protocol is not None else None
    if (
        event_kind is mar.DosingEventKind.DEVICE
        and devices is not None
        and device_mg != devices.device_mg
    ):
        raise InvalidInput(
            f"Each device holds {devices.device_mg:g} mg: record every device given, one at "
            f"a time (not {device_mg:g} mg).",
            field="device_mg",
        )
    detail: dict[str, Any] = {
        "kind": event_kind.value, "device_mg": device_mg, "rate_mg_per_h": rate_mg_per_h,
    }  # fmt: skip

    def step(record: core.SessionRecord) -> core.SessionRecord:
        updated = core.add_dosing_event(record, event)
        early = [e.message for e in early_devices(protocol, updated) if e.device == event]
        if early:
            detail["early_device"] = early[0]  # read when the audit entry is written
        return updated

    return _apply(db, ctx, session_id, "dosing.event", step, detail=detail)


def device_spacing_warnings(db: Session, record: core.SessionRecord) -> list[mar.EarlyDevice]:
    """Devices of this session given sooner than the protocol's spacing (shown on the monitor)."""
    return early_devices(session_protocol(db, session_row(db, record.session_id)), record)


def end_dosing(
    db: Session,
    ctx: RequestContext,
    session_id: str,
    *,
    at: datetime | None = None,
    note: str | None = None,
) -> core.SessionRecord:
    when = _when(ctx, at)
    by = ctx.actor.display_name
    return _apply(
        db, ctx, session_id, "dosing.end", lambda r: core.end_dosing(r, at=when, by=by, note=note),
        event=SessionEvent.END_DOSING,
    )  # fmt: skip
