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
from ketaclinic.services.session_dosing import add_dosing_event as add_dosing_event
from ketaclinic.services.session_dosing import device_spacing_warnings as device_spacing_warnings
from ketaclinic.services.session_dosing import end_dosing as end_dosing
from ketaclinic.services.session_dosing import override_session_dose as override_session_dose
from ketaclinic.services.session_dosing import start_dosing as start_dosing
from ketaclinic.services.session_predose import evaluate_predose_checks as evaluate_predose_checks
from ketaclinic.services.session_predose import pass_predose as pass_predose
from ketaclinic.services.session_predose import predose_facts as predose_facts
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
