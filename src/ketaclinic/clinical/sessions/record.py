"""The session record: one immutable value, replaced by a new one at every step.

Every function here takes a record and returns a new record, so a service can persist versions and
an audit trail falls out naturally. The record holds the steps (with time and person), the pre-dose
result, the MAR, every observation (vitals and scale scores; re-sending an observation with the same
id is a no-op, so device batches are idempotent), the alerts with their acknowledgements, the
discharge assessment and, once signed, nothing but addenda.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ketaclinic.clinical.policy import EffectivePolicy, ProtocolKind
from ketaclinic.clinical.sessions import mar
from ketaclinic.clinical.sessions.alerts import AlertFinding, Measures, evaluate_alerts
from ketaclinic.clinical.sessions.discharge import DischargeAssessment
from ketaclinic.clinical.sessions.lifecycle import (
    TERMINAL_STATES,
    SessionEvent,
    SessionState,
    StepRecord,
    make_step,
)
from ketaclinic.clinical.sessions.predose import PredoseResult
from ketaclinic.clinical.vitals import blood_pressure_problem
from ketaclinic.errors import InvalidInput, RuleViolation


class Observation(BaseModel):
    """Vital signs and/or scale scores taken at one time (a device reading or a nurse's entry)."""

    model_config = ConfigDict(frozen=True)
    id: str = Field(min_length=1)
    taken_at: datetime
    measures: Measures
    recorded_by: str = Field(min_length=1)

    @model_validator(mode="after")
    def _blood_pressure_in_order(self) -> Observation:
        # Checked on the reading, not on Measures: a baseline merged from several readings may
        # pair one reading's systolic with another's diastolic.
        systolic, diastolic = self.measures.systolic_mmhg, self.measures.diastolic_mmhg
        if systolic is not None and diastolic is not None:
            problem = blood_pressure_problem(systolic, diastolic)
            if problem is not None:
                raise InvalidInput(f"Blood pressure: {problem}.", field="diastolic_mmhg")
        return self


class Acknowledgement(BaseModel):
    model_config = ConfigDict(frozen=True)
    by: str = Field(min_length=1)
    at: datetime
    note: str = Field(min_length=3)


class Alert(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    finding: AlertFinding
    observation_id: str | None
    acknowledgement: Acknowledgement | None = None

    @property
    def is_open(self) -> bool:
        return self.acknowledgement is None


class Signature(BaseModel):
    model_config = ConfigDict(frozen=True)
    by: str = Field(min_length=1)
    at: datetime


class Addendum(BaseModel):
    model_config = ConfigDict(frozen=True)
    by: str = Field(min_length=1)
    at: datetime
    text: str = Field(min_length=3)


class SessionRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    session_id: str
    patient_id: str
    protocol_kind: ProtocolKind
    scheduled_for: datetime
    weight_kg: float | None = Field(default=None, gt=0)
    with_bprs: bool = False
    state: SessionState = SessionState.SCHEDULED
    steps: tuple[StepRecord, ...] = ()
    predose: PredoseResult | None = None
    dosing: mar.DosingRecord | None = None
    observations: tuple[Observation, ...] = ()
    alerts: tuple[Alert, ...] = ()
    discharge_assessment: DischargeAssessment | None = None
    signature: Signature | None = None
    addenda: tuple[Addendum, ...] = ()

    @property
    def open_alerts(self) -> list[Alert]:
        return [a for a in self.alerts if a.is_open]

    @property
    def dose_started_at(self) -> datetime | None:
        return self.dosing.started_at if self.dosing else None

    def step_time(self, event: SessionEvent) -> datetime | None:
        times = [s.at for s in self.steps if s.event is event]
        return times[-1] if times else None

    def baseline(self) -> Measures:
        """Latest values from observations before dosing started (or all, if not started)."""
        return _Baseline(self).measures()

    def observations_after_dose(self) -> list[Observation]:
        cut = self.dose_started_at
        if cut is None:
            return []
        return sorted((o for o in self.observations if o.taken_at > cut), key=lambda o: o.taken_at)


def new_session(
    *,
    session_id: str,
    patient_id: str,
    protocol_kind: ProtocolKind,
    scheduled_for: datetime,
    weight_kg: float | None = None,
    with_bprs: bool = False,
) -> SessionRecord:
    if scheduled_for.tzinfo is None:
        raise InvalidInput("The scheduled time needs a time zone.", field="scheduled_for")
    return SessionRecord(
        session_id=session_id,
        patient_id=patient_id,
        protocol_kind=protocol_kind,
        scheduled_for=scheduled_for,
        weight_kg=weight_kg,
        with_bprs=with_bprs,
    )


def _unsigned(record: SessionRecord) -> None:
    if record.signature is not None:
        raise RuleViolation(
            f"Session {record.session_id} is signed; corrections go in an addendum.",
            field="session",
        )


def _step(
    record: SessionRecord, event: SessionEvent, at: datetime, by: str, reason: str | None = None
) -> SessionRecord:
    _unsigned(record)
    step = make_step(record.state, event, at=at, by=by, reason=reason)
    if record.steps and at < record.steps[-1].at:
        raise InvalidInput(
            f"'{event.value}' at {at.isoformat()} is earlier than the previous step "
            f"({record.steps[-1].event.value} at {record.steps[-1].at.isoformat()}).",
            field="at",
        )
    return record.model_copy(update={"state": step.to_state, "steps": (*record.steps, step)})


def check_in(record: SessionRecord, *, at: datetime, by: str) -> SessionRecord:
    return _step(record, SessionEvent.CHECK_IN, at, by)


def no_show(record: SessionRecord, *, at: datetime, by: str) -> SessionRecord:
    return _step(record, SessionEvent.NO_SHOW, at, by)


def abort(record: SessionRecord, *, at: datetime, by: str, reason: str) -> SessionRecord:
    return _step(record, SessionEvent.ABORT, at, by, reason)


def pass_predose(
    record: SessionRecord, result: PredoseResult, *, at: datetime, by: str
) -> SessionRecord:
    if result.protocol_kind is not record.protocol_kind:
        raise InvalidInput("The pre-dose result is for another protocol kind.", field="predose")
    if result.evaluated_at > at:
        raise InvalidInput("The pre-dose checks are dated after this step.", field="predose")
    if not result.passed:
        unmet = "; ".join(f"{i.title}: {i.message}" for i in result.unmet())
        raise RuleViolation(f"Pre-dose checks not passed ({result.status.value}): {unmet}")
    moved = _step(record, SessionEvent.PASS_PREDOSE, at, by)
    return moved.model_copy(update={"predose": result})


def start_dosing(record: SessionRecord, dosing: mar.DosingRecord, *, by: str) -> SessionRecord:
    if dosing.route is not record.protocol_kind.route:
        raise InvalidInput(
            f"Route {dosing.route.value} does not match the protocol "
            f"({record.protocol_kind.value}).",
            field="route",
        )
    moved = _step(record, SessionEvent.START_DOSING, dosing.started_at, by)
    return moved.model_copy(update={"dosing": dosing})


def add_dosing_event(record: SessionRecord, event: mar.DosingEvent) -> SessionRecord:
    _unsigned(record)
    if record.state is not SessionState.DOSING or record.dosing is None:
        raise RuleViolation(
            f"Dosing events are recorded while dosing; the session is '{record.state.value}'.",
            field="event",
        )
    return record.model_copy(update={"dosing": mar.add_event(record.dosing, event)})


def end_dosing(
    record: SessionRecord, *, at: datetime, by: str, note: str | None = None
) -> SessionRecord:
    if record.dosing is None:
        raise RuleViolation("No dosing record to end.", field="dosing")
    dosing = mar.stop_record(record.dosing, at=at, note=note)
    moved = _step(record, SessionEvent.END_DOSING, at, by, note)
    return moved.model_copy(update={"dosing": dosing})


class _Baseline:
    """The latest pre-dose value of each measure, kept up to date one observation at a time.

    Same result as merging the observations in time order (ties: the later-added wins), without
    re-sorting the whole session for every reading a monitor sends.
    """

    def __init__(self, record: SessionRecord) -> None:
        self._cut = record.dose_started_at
        self._latest: dict[str, tuple[datetime, object]] = {}
        for observation in record.observations:
            self.add(observation)

    def add(self, observation: Observation) -> None:
        if self._cut is not None and observation.taken_at > self._cut:
            return
        for name, value in observation.measures.model_dump(exclude_none=True).items():
            seen = self._latest.get(name)
            if seen is None or observation.taken_at >= seen[0]:
                self._latest[name] = (observation.taken_at, value)

    def measures(self) -> Measures:
        return Measures.model_validate({name: value for name, (_, value) in self._latest.items()})


class ObservationBatch:
    """Adds observations to a record one at a time, each in constant time.

    A bedside monitor sends batches into a session that may already hold thousands of readings;
    checking ids, the baseline and the open alerts from scratch for each reading would make a
    session slower with every reading it receives.
    """

    def __init__(self, record: SessionRecord, policy: EffectivePolicy) -> None:
        self._record = record
        self._policy = policy
        self._by_id = {o.id: o for o in record.observations}
        self._added: list[Observation] = []
        self._alerts = list(record.alerts)
        self._open_rules = {a.finding.rule_id for a in record.alerts if a.is_open}
        self._baseline = _Baseline(record)

    def stored(self, observation_id: str) -> Observation | None:
        return self._by_id.get(observation_id)

    def add(self, observation: Observation) -> list[Alert]:
        """Store an observation and open an alert for every rule it fires that is not open.

        The same id with the same content is a no-op (idempotent device feed); the same id with
        different content is refused, because a reading is never silently replaced.
        """
        record = self._record
        _unsigned(record)
        if observation.taken_at.tzinfo is None:
            raise InvalidInput("taken_at needs a time zone.", field="taken_at")
        if record.state in (SessionState.SCHEDULED, SessionState.NO_SHOW):
            raise RuleViolation(
                f"Observations start at check-in; the session is '{record.state.value}'.",
                field="state",
            )
        existing = self._by_id.get(observation.id)
        if existing is not None:
            if existing.model_dump(exclude={"recorded_by"}) == observation.model_dump(
                exclude={"recorded_by"}
            ):
                return []
            raise InvalidInput(
                f"Observation {observation.id} was already stored with different values.",
                field="id",
            )
        self._by_id[observation.id] = observation
        self._added.append(observation)
        self._baseline.add(observation)
        findings = evaluate_alerts(
            observation.measures,
            self._baseline.measures(),
            self._policy,
            observed_at=observation.taken_at,
        )
        raised: list[Alert] = []
        for finding in findings:
            if finding.rule_id in self._open_rules:
                continue
            self._open_rules.add(finding.rule_id)
            alert = Alert(
                id=f"{self._record.session_id}-alert-{len(self._alerts) + 1}",
                finding=finding,
                observation_id=observation.id,
            )
            self._alerts.append(alert)
            raised.append(alert)
        return raised

    def record(self) -> SessionRecord:
        if not self._added:
            return self._record
        return self._record.model_copy(
            update={
                "observations": (*self._record.observations, *self._added),
                "alerts": tuple(self._alerts),
            }
        )


def add_observation(
    record: SessionRecord, observation: Observation, policy: EffectivePolicy
) -> tuple[SessionRecord, list[Alert]]:
    """Store one observation; returns the new record and the alerts it raised."""
    batch = ObservationBatch(record, policy)
    raised = batch.add(observation)
    return batch.record(), raised


def acknowledge_alert(
    record: SessionRecord, alert_id: str, *, by: str, at: datetime, note: str
) -> SessionRecord:
    _unsigned(record)
    ack = Acknowledgement(by=by, at=at, note=note)
    found = False
    alerts: list[Alert] = []
    for alert in record.alerts:
        if alert.id == alert_id:
            found = True
            if not alert.is_open:
                raise RuleViolation(f"Alert {alert_id} is already acknowledged.", field="alert_id")
            if at < alert.finding.observed_at:
                raise InvalidInput(
                    "An alert cannot be acknowledged before it was raised.", field="at"
                )
            alert = alert.model_copy(update={"acknowledgement": ack})
        alerts.append(alert)
    if not found:
        raise InvalidInput(f"No alert {alert_id} in session {record.session_id}.", field="alert_id")
    return record.model_copy(update={"alerts": tuple(alerts)})


def _check_assessment(record: SessionRecord, assessment: DischargeAssessment, at: datetime) -> None:
    if assessment.session_id != record.session_id:
        raise InvalidInput("The discharge assessment is for another session.", field="assessment")
    if assessment.assessed_at > at:
        raise InvalidInput("The discharge assessment is later than this step.", field="assessment")
    if not assessment.ready:
        unmet = "; ".join(u.message for u in assessment.unmet)
        raise RuleViolation(f"Discharge criteria not met: {unmet}", field="discharge")
    # A reading or an alert that came in after the assessment may change the answer.
    newer = [o for o in record.observations if assessment.assessed_at < o.taken_at <= at]
    if newer or record.open_alerts:
        raise RuleViolation(
            "New readings or open alerts since the discharge assessment; assess again.",
            field="discharge",
        )


def mark_ready(
    record: SessionRecord, assessment: DischargeAssessment, *, at: datetime, by: str
) -> SessionRecord:
    """Move to ready-for-discharge with a ready assessment (all criteria met)."""
    _check_assessment(record, assessment, at)
    moved = _step(record, SessionEvent.MARK_READY, at, by)
    return moved.model_copy(update={"discharge_assessment": assessment})


def resume_monitoring(
    record: SessionRecord, *, at: datetime, by: str, reason: str
) -> SessionRecord:
    return _step(record, SessionEvent.RESUME_MONITORING, at, by, reason)


def discharge(
    record: SessionRecord, assessment: DischargeAssessment, *, at: datetime, by: str
) -> SessionRecord:
    """Discharge needs an assessment, at or before this moment, with every criterion met."""
    _check_assessment(record, assessment, at)
    moved = _step(record, SessionEvent.DISCHARGE, at, by)
    return moved.model_copy(update={"discharge_assessment": assessment})


def sign(record: SessionRecord, *, by: str, at: datetime) -> SessionRecord:
    _unsigned(record)
    if record.state not in TERMINAL_STATES:
        raise RuleViolation(
            f"Only a closed session can be signed; this one is '{record.state.value}'.",
            field="state",
        )
    if record.open_alerts:
        ids = ", ".join(a.id for a in record.open_alerts)
        raise RuleViolation(
            f"Acknowledge every alert before signing (open: {ids}).", field="alerts"
        )
    return record.model_copy(update={"signature": Signature(by=by, at=at)})


def add_addendum(record: SessionRecord, *, by: str, at: datetime, text: str) -> SessionRecord:
    if record.signature is None:
        raise RuleViolation("Addenda are for signed records; edit the record instead.")
    if at < record.signature.at:
        raise InvalidInput("An addendum cannot predate the signature.", field="at")
    return record.model_copy(
        update={"addenda": (*record.addenda, Addendum(by=by, at=at, text=text))}
    )
