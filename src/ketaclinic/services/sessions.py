"""Supervised sessions as use cases: schedule, check in, pre-dose checks, dose, monitor, discharge.

Each use case loads the stored session, asks the clinical core for the next record (which enforces
the state machine, the MAR rules, the alert rules and the discharge criteria), persists what
changed and writes the audit entry, all in one savepoint: a refused step writes nothing. Times
default to the request's time (``ctx.now``); a charted time may be earlier (a nurse charting a
reading taken ten minutes ago) but never in the future.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical.policy import ProtocolKind, parse_protocol_kind
from ketaclinic.clinical.sessions import mar
from ketaclinic.clinical.sessions import record as core
from ketaclinic.clinical.sessions.alerts import Measures
from ketaclinic.clinical.sessions.discharge import DischargeAssessment, assess_discharge
from ketaclinic.clinical.sessions.lifecycle import SessionEvent
from ketaclinic.errors import InvalidInput
from ketaclinic.services import rems, safety
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import RequestContext
from ketaclinic.services.patients import get_patient_row
from ketaclinic.services.policy import clinic_policy
from ketaclinic.services.session_plan import early_devices, session_protocol
from ketaclinic.services.session_predose import evaluate_predose_checks as evaluate_predose_checks
from ketaclinic.services.session_predose import pass_predose as pass_predose
from ketaclinic.services.session_steps import apply_step as _apply
from ketaclinic.services.session_steps import charted_time as _when
from ketaclinic.services.session_steps import read_record
from ketaclinic.services.session_store import ReadingOrigin, session_row
from ketaclinic.storage.database import atomic
from ketaclinic.storage.tables.measurements import ObservationRow
from ketaclinic.storage.tables.sessions import SupervisedSessionRow
from ketaclinic.storage.tables.types import new_id


def _latest_weight_kg(db: Session, patient_id: str) -> float | None:
    row = db.scalars(
        select(ObservationRow)
        .where(ObservationRow.patient_id == patient_id, ObservationRow.kind == "weight_kg")
        .order_by(ObservationRow.observed_at.desc())
    ).first()
    return row.value if row else None


def schedule_session(
    db: Session,
    ctx: RequestContext,
    patient_id: str,
    protocol_kind: ProtocolKind | str,
    scheduled_for: datetime,
    *,
    protocol_id: str | None = None,
    chair: str | None = None,
    room: str | None = None,
    responsible_clinician: str | None = None,
    weight_kg: float | None = None,
    with_bprs: bool = False,
    plan_session_id: str | None = None,
    session_id: str | None = None,
) -> core.SessionRecord:
    """A new scheduled session; the weight defaults to the patient's latest recorded weight."""
    kind = parse_protocol_kind(protocol_kind) if isinstance(protocol_kind, str) else protocol_kind
    sid = session_id or new_id()
    with atomic(db):
        get_patient_row(db, patient_id)
        weight = weight_kg if weight_kg is not None else _latest_weight_kg(db, patient_id)
        record = core.new_session(
            session_id=sid, patient_id=patient_id, protocol_kind=kind,
            scheduled_for=scheduled_for, weight_kg=weight, with_bprs=with_bprs,
        )  # fmt: skip
        db.add(
            SupervisedSessionRow(
                id=sid, patient_id=patient_id, plan_session_id=plan_session_id,
                protocol_kind=kind.value, protocol_id=protocol_id, state=record.state.value,
                scheduled_for=scheduled_for, chair=chair, room=room,
                responsible_clinician=responsible_clinician, weight_kg=weight,
                with_bprs=with_bprs, created_at=ctx.now, updated_at=ctx.now,
            )
        )  # fmt: skip
        db.flush()
        record_event(
            db, ctx.actor, "session.schedule", "session", sid, patient_id=patient_id,
            detail={"protocol_kind": kind.value, "scheduled_for": scheduled_for.isoformat()},
            now=ctx.now,
        )  # fmt: skip
    return record


def get_session(db: Session, ctx: RequestContext, session_id: str) -> core.SessionRecord:
    """The session record (a read of patient data, so it is audited)."""
    return read_record(db, ctx, session_id)


def session_details(db: Session, session_id: str) -> SupervisedSessionRow:
    """The session's scheduling details (chair, room, clinician, protocol id)."""
    return session_row(db, session_id)


def check_in(
    db: Session, ctx: RequestContext, session_id: str, *, at: datetime | None = None
) -> core.SessionRecord:
    when = _when(ctx, at)
    by = ctx.actor.display_name
    return _apply(db, ctx, session_id, "check_in", lambda r: core.check_in(r, at=when, by=by))


def no_show(
    db: Session, ctx: RequestContext, session_id: str, *, at: datetime | None = None
) -> core.SessionRecord:
    when = _when(ctx, at)
    by = ctx.actor.display_name
    return _apply(db, ctx, session_id, "no_show", lambda r: core.no_show(r, at=when, by=by))


def abort(
    db: Session, ctx: RequestContext, session_id: str, *, reason: str, at: datetime | None = None
) -> core.SessionRecord:
    when = _when(ctx, at)
    by = ctx.actor.display_name
    record = _apply(
        db, ctx, session_id, "abort", lambda r: core.abort(r, at=when, by=by, reason=reason),
        detail={"reason": reason},
    )  # fmt: skip
    _rems_form_if_due(db, ctx, record)
    return record


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
) -> core.SessionRecord:
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

    return _apply(
        db, ctx, session_id, "dosing.start", step,
        detail={"product": product, "lot_number": lot_number, "dose_mg": dose_mg},
        event=SessionEvent.START_DOSING,
    )  # fmt: skip


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


def record_observation(
    db: Session,
    ctx: RequestContext,
    session_id: str,
    reading_id: str,
    measures: Measures | Mapping[str, Any],
    *,
    taken_at: datetime | None = None,
    questionnaire_response_id: str | None = None,
) -> tuple[core.SessionRecord, list[core.Alert]]:
    """A nurse's reading or scale scores; returns the record and any alerts it raised.

    A positive PHQ-9 item 9 or C-SSRS screen also creates the same-day risk-assessment task.
    """
    when = _when(ctx, taken_at, "taken_at")
    values = measures if isinstance(measures, Measures) else Measures.model_validate(measures)
    raised: list[core.Alert] = []

    def step(record: core.SessionRecord) -> core.SessionRecord:
        observation = core.Observation(
            id=reading_id, taken_at=when, measures=values, recorded_by=ctx.actor.display_name
        )
        updated, new = core.add_observation(
            record, observation, clinic_policy(db, record.protocol_kind)
        )
        raised.extend(new)
        return updated

    origin = ReadingOrigin("manual", questionnaire_response_id)
    record = _apply(
        db, ctx, session_id, "observation.record", step,
        detail={"reading_id": reading_id, "alerts": [a.finding.rule_id for a in raised]},
        origins={reading_id: origin},
    )  # fmt: skip
    if values.phq9_item9 is not None or values.cssrs_risk is not None:
        safety.suicide_screen_followup(
            db, ctx, record.patient_id, screened_at=when, phq9_item9=values.phq9_item9,
            cssrs_risk=values.cssrs_risk, related_id=session_id,
        )  # fmt: skip
    return record, raised


def _written(text: str, field: str, what: str) -> str:
    if len(text.strip()) < 3:
        raise InvalidInput(f"Write {what} (at least a few words).", field=field)
    return text.strip()


def acknowledge_alert(
    db: Session, ctx: RequestContext, session_id: str, alert_id: str, *, note: str
) -> core.SessionRecord:
    """Close an alert with the clinician's note of what was assessed or done."""
    note = _written(note, "note", "a note saying what was assessed or done")
    by = ctx.actor.display_name
    return _apply(
        db, ctx, session_id, "alert.acknowledge",
        lambda r: core.acknowledge_alert(r, alert_id, by=by, at=ctx.now, note=note),
        detail={"alert_id": alert_id},
    )  # fmt: skip


def discharge_assessment(
    db: Session, ctx: RequestContext, session_id: str, *, escort_present: bool
) -> DischargeAssessment:
    """Every unmet discharge criterion now (an empty list means ready); changes nothing."""
    record = read_record(db, ctx, session_id, "discharge.assess")
    policy = clinic_policy(db, record.protocol_kind)
    return assess_discharge(record, policy, at=ctx.now, escort_present=escort_present)


def _discharge_step(
    db: Session, ctx: RequestContext, session_id: str, action: str, escort_present: bool
) -> core.SessionRecord:
    by = ctx.actor.display_name
    move = core.mark_ready if action == "mark_ready" else core.discharge

    def step(record: core.SessionRecord) -> core.SessionRecord:
        policy = clinic_policy(db, record.protocol_kind)
        assessment = assess_discharge(record, policy, at=ctx.now, escort_present=escort_present)
        return move(record, assessment, at=ctx.now, by=by)

    event = SessionEvent.MARK_READY if action == "mark_ready" else SessionEvent.DISCHARGE
    record = _apply(
        db, ctx, session_id, action, step, detail={"escort_present": escort_present}, event=event
    )
    if event is SessionEvent.DISCHARGE:
        _rems_form_if_due(db, ctx, record)
    return record


def _rems_form_if_due(db: Session, ctx: RequestContext, record: core.SessionRecord) -> None:
    """Every esketamine session that gave a device owes a REMS form, due within 7 days."""
    if record.protocol_kind.is_rems and record.dosing and record.dosing.first_device_at:
        rems.generate_form(db, ctx, record.session_id)


def mark_ready(
    db: Session, ctx: RequestContext, session_id: str, *, escort_present: bool
) -> core.SessionRecord:
    return _discharge_step(db, ctx, session_id, "mark_ready", escort_present)


def discharge(
    db: Session, ctx: RequestContext, session_id: str, *, escort_present: bool
) -> core.SessionRecord:
    return _discharge_step(db, ctx, session_id, "discharge", escort_present)


def resume_monitoring(
    db: Session, ctx: RequestContext, session_id: str, *, reason: str
) -> core.SessionRecord:
    by = ctx.actor.display_name
    return _apply(
        db, ctx, session_id, "resume_monitoring",
        lambda r: core.resume_monitoring(r, at=ctx.now, by=by, reason=reason),
        detail={"reason": reason},
    )  # fmt: skip


def sign(db: Session, ctx: RequestContext, session_id: str) -> core.SessionRecord:
    by = ctx.actor.display_name
    return _apply(db, ctx, session_id, "sign", lambda r: core.sign(r, by=by, at=ctx.now))


def add_addendum(
    db: Session, ctx: RequestContext, session_id: str, text: str
) -> core.SessionRecord:
    text = _written(text, "text", "the correction or addition")
    by = ctx.actor.display_name
    return _apply(
        db, ctx, session_id, "addendum",
        lambda r: core.add_addendum(r, by=by, at=ctx.now, text=text),
    )  # fmt: skip
