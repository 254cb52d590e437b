"""Load a stored session as the clinical core's ``SessionRecord`` and persist the next version.

The core returns a whole new record at every step; ``persist`` writes only what changed against
the version it was loaded from (new steps, readings, alerts, dosing events and addenda are
appended; an acknowledgement, the end of dosing, the discharge assessment and the signature fill
their columns), so the tables stay append-only in practice.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ketaclinic.clinical.policy import ProtocolKind
from ketaclinic.clinical.sessions import mar
from ketaclinic.clinical.sessions.alerts import AlertFinding, Measures
from ketaclinic.clinical.sessions.discharge import DischargeAssessment, UnmetCriterion
from ketaclinic.clinical.sessions.lifecycle import SessionEvent, SessionState, StepRecord
from ketaclinic.clinical.sessions.predose import PredoseResult
from ketaclinic.clinical.sessions.record import (
    Acknowledgement,
    Addendum,
    Alert,
    Observation,
    SessionRecord,
    Signature,
)
from ketaclinic.clinical.vocabulary import Route
from ketaclinic.errors import NotFound
from ketaclinic.storage.tables.sessions import (
    SessionAddendumRow,
    SessionAlertRow,
    SessionDischargeRow,
    SessionDosingEventRow,
    SessionDosingRow,
    SessionReadingRow,
    SessionStepRow,
    SupervisedSessionRow,
)

MEASURE_COLUMNS = tuple(Measures.model_fields)


@dataclass(frozen=True)
class ReadingOrigin:
    """Where a reading came from: ``manual`` or ``device:<id>``, and its questionnaire if any."""

    method: str = "manual"
    questionnaire_response_id: str | None = None


def session_row(db: Session, session_id: str, *, for_update: bool = False) -> SupervisedSessionRow:
    if for_update:
        # Take the write lock before reading, so two writers of one session (a device re-sending
        # a batch while the first copy is still being stored) run one after the other: a no-op
        # update is a row lock on PostgreSQL and the database write lock on SQLite.
        db.execute(
            update(SupervisedSessionRow)
            .where(SupervisedSessionRow.id == session_id)
            .values(state=SupervisedSessionRow.state)
            .execution_options(synchronize_session=False)
        )
    query = select(SupervisedSessionRow).where(SupervisedSessionRow.id == session_id)
    row = db.scalars(query).first()
    if row is None:
        raise NotFound(f"No session {session_id}.", field="session_id")
    return row


def _alert_order(row: SessionAlertRow) -> tuple[int, str]:
    tail = row.id.rsplit("-", 1)[-1]
    return (int(tail) if tail.isdigit() else 0, row.id)


def _dosing(db: Session, session_id: str) -> mar.DosingRecord | None:
    row = db.get(SessionDosingRow, session_id)
    if row is None:
        return None
    events = db.scalars(
        select(SessionDosingEventRow)
        .where(SessionDosingEventRow.session_id == session_id)
        .order_by(SessionDosingEventRow.position)
    )
    return mar.DosingRecord(
        product=row.product,
        formulation=row.formulation,
        lot_number=row.lot_number,
        concentration_mg_per_ml=row.concentration_mg_per_ml,
        dose_mg=row.dose_mg,
        dose_mg_per_kg=row.dose_mg_per_kg,
        route=Route(row.route),
        started_at=row.started_at,
        stopped_at=row.stopped_at,
        initial_rate_mg_per_h=row.initial_rate_mg_per_h,
        administered_by=row.administered_by,
        supervised_by=row.supervised_by,
        stop_note=row.stop_note,
        events=tuple(
            mar.DosingEvent(
                kind=mar.DosingEventKind(e.kind),
                at=e.at,
                by=e.by,
                device_mg=e.device_mg,
                rate_mg_per_h=e.rate_mg_per_h,
                reason=e.reason,
            )
            for e in events
        ),
    )


def load_record(
    db: Session, row: SupervisedSessionRow, *, judging: Collection[str] | None = None
) -> SessionRecord:
    """The whole session; or, with ``judging`` (ids of incoming readings), a view to judge them.

    That view holds every step, alert and dosing fact but only the readings that decide how new
    ones are judged: those with the incoming ids (duplicates) and those taken before dosing
    started (the baseline). A bedside monitor's batch then costs the same in the third hour of a
    session as in the first. ``persist`` accepts the view, since it only writes what was added.
    """
    sid = row.id
    steps = db.scalars(
        select(SessionStepRow)
        .where(SessionStepRow.session_id == sid)
        .order_by(SessionStepRow.position)
    )
    dosing = _dosing(db, sid)
    wanted = select(SessionReadingRow).where(SessionReadingRow.session_id == sid)
    if judging is not None and dosing is not None:
        wanted = wanted.where(
            or_(
                SessionReadingRow.client_id.in_(list(judging)),
                SessionReadingRow.taken_at <= dosing.started_at,
            )
        )
    readings = db.scalars(wanted.order_by(SessionReadingRow.id))
    alerts = sorted(
        db.scalars(select(SessionAlertRow).where(SessionAlertRow.session_id == sid)),
        key=_alert_order,
    )
    addenda = db.scalars(
        select(SessionAddendumRow)
        .where(SessionAddendumRow.session_id == sid)
        .order_by(SessionAddendumRow.position)
    )
    discharge = db.get(SessionDischargeRow, sid)
    return SessionRecord(
        session_id=sid,
        patient_id=row.patient_id,
        protocol_kind=ProtocolKind(row.protocol_kind),
        scheduled_for=row.scheduled_for,
        weight_kg=row.weight_kg,
        with_bprs=row.with_bprs,
        state=SessionState(row.state),
        steps=tuple(
            StepRecord(
                event=SessionEvent(s.event),
                from_state=SessionState(s.from_state),
                to_state=SessionState(s.to_state),
                at=s.at,
                by=s.by,
                reason=s.reason,
            )
            for s in steps
        ),
        predose=PredoseResult.model_validate(row.predose) if row.predose else None,
        dosing=dosing,
        observations=tuple(
            # Checked when stored; not re-judged on load, so a reading stored before a rule was
            # tightened (a swapped blood pressure) cannot make the whole session unreadable.
            Observation.model_construct(
                id=r.client_id,
                taken_at=r.taken_at,
                recorded_by=r.recorded_by,
                measures=Measures(**{name: getattr(r, name) for name in MEASURE_COLUMNS}),
            )
            for r in readings
        ),
        alerts=tuple(
            Alert(
                id=a.id,
                finding=AlertFinding.model_validate(a.finding),
                observation_id=a.reading_client_id,
                acknowledgement=(
                    Acknowledgement(
                        by=a.acknowledged_by, at=a.acknowledged_at, note=a.acknowledgement_note
                    )
                    if a.acknowledged_at and a.acknowledged_by and a.acknowledgement_note
                    else None
                ),
            )
            for a in alerts
        ),
        discharge_assessment=(
            DischargeAssessment(
                session_id=sid,
                assessed_at=discharge.assessed_at,
                escort_present=discharge.escort_present,
                unmet=[UnmetCriterion.model_validate(u) for u in discharge.unmet],
                observation_minutes=discharge.observation_minutes,
                clinically_ready_at=discharge.clinically_ready_at,
                clinically_ready_minutes=discharge.clinically_ready_minutes,
            )
            if discharge
            else None
        ),
        signature=(
            Signature(by=row.signed_by, at=row.signed_at)
            if row.signed_by and row.signed_at
            else None
        ),
        addenda=tuple(Addendum(by=a.by, at=a.at, text=a.text) for a in addenda),
    )


def _persist_dosing(db: Session, sid: str, before: SessionRecord, after: SessionRecord) -> None:
    new, old = after.dosing, before.dosing
    if new is None:
        return
    if old is None:
        fields = new.model_dump(exclude={"events"})
        fields["route"] = new.route.value
        db.add(SessionDosingRow(session_id=sid, **fields))
        db.flush()
    else:
        row = db.get(SessionDosingRow, sid)
        assert row is not None
        row.stopped_at, row.stop_note = new.stopped_at, new.stop_note
    done = len(old.events) if old else 0
    for position, event in enumerate(new.events[done:], start=done):
        db.add(
            SessionDosingEventRow(
                session_id=sid,
                position=position,
                kind=event.kind.value,
                at=event.at,
                by=event.by,
                device_mg=event.device_mg,
                rate_mg_per_h=event.rate_mg_per_h,
                reason=event.reason,
            )
        )


def _persist_alerts(db: Session, sid: str, before: SessionRecord, after: SessionRecord) -> None:
    old = {a.id: a for a in before.alerts}
    for alert in after.alerts:
        ack = alert.acknowledgement
        if alert.id not in old:
            db.add(
                SessionAlertRow(
                    id=alert.id,
                    session_id=sid,
                    rule_id=alert.finding.rule_id,
                    severity=alert.finding.severity.value,
                    observed_at=alert.finding.observed_at,
                    reading_client_id=alert.observation_id,
                    finding=alert.finding.model_dump(mode="json"),
                    acknowledged_by=ack.by if ack else None,
                    acknowledged_at=ack.at if ack else None,
                    acknowledgement_note=ack.note if ack else None,
                )
            )
        elif ack is not None and old[alert.id].acknowledgement is None:
            row = db.get(SessionAlertRow, alert.id)
            assert row is not None
            row.acknowledged_by, row.acknowledged_at = ack.by, ack.at
            row.acknowledgement_note = ack.note


def persist(
    db: Session,
    row: SupervisedSessionRow,
    before: SessionRecord,
    after: SessionRecord,
    *,
    origins: Mapping[str, ReadingOrigin] | None = None,
) -> None:
    """Write what ``after`` adds to ``before`` (the version ``row`` was loaded as)."""
    sid = row.id
    row.state = after.state.value
    row.weight_kg = after.weight_kg
    if after.predose is not None and after.predose != before.predose:
        row.predose = after.predose.model_dump(mode="json")
    if after.signature is not None:
        row.signed_by, row.signed_at = after.signature.by, after.signature.at
    for position, step in enumerate(after.steps[len(before.steps) :], start=len(before.steps)):
        db.add(
            SessionStepRow(
                session_id=sid,
                position=position,
                event=step.event.value,
                from_state=step.from_state.value,
                to_state=step.to_state.value,
                at=step.at,
                by=step.by,
                reason=step.reason,
            )
        )
    _persist_dosing(db, sid, before, after)
    known = {o.id for o in before.observations}
    origins = origins or {}
    for obs in after.observations:
        if obs.id in known:
            continue
        origin = origins.get(obs.id, ReadingOrigin())
        db.add(
            SessionReadingRow(
                session_id=sid,
                client_id=obs.id,
                taken_at=obs.taken_at,
                received_at=row.updated_at,
                recorded_by=obs.recorded_by,
                method=origin.method,
                questionnaire_response_id=origin.questionnaire_response_id,
                **obs.measures.model_dump(),
            )
        )
    # Readings first: an alert names the reading that raised it.
    db.flush()
    _persist_alerts(db, sid, before, after)
    assessment = after.discharge_assessment
    if assessment is not None and assessment != before.discharge_assessment:
        existing = db.get(SessionDischargeRow, sid)
        if existing is not None:
            db.delete(existing)
            db.flush()
        db.add(
            SessionDischargeRow(
                session_id=sid,
                assessed_at=assessment.assessed_at,
                escort_present=assessment.escort_present,
                observation_minutes=assessment.observation_minutes,
                clinically_ready_at=assessment.clinically_ready_at,
                clinically_ready_minutes=assessment.clinically_ready_minutes,
                unmet=[u.model_dump() for u in assessment.unmet],
            )
        )
    for position, addendum in enumerate(
        after.addenda[len(before.addenda) :], start=len(before.addenda)
    ):
        db.add(
            SessionAddendumRow(
                session_id=sid,
                position=position,
                by=addendum.by,
                at=addendum.at,
                text=addendum.text,
            )
        )
    db.flush()
