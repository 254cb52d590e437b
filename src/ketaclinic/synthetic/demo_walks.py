"""One demo session walked step by step through the session services, as a nurse would chart it.

    walk = Walk(db, person, kind, t0, plan_entry)   # t0: check-in time
    walk.book(chair)                                # the plan entry booked (or a session scheduled)
    walk.to("monitoring")                           # every step up to that state
    walk.finish()                                   # later: the rest of the visit, from any state

Each step runs with a request time equal to the moment it happened (``t0`` plus the step's
minutes), so nothing is charted in the future. The dose is the plan's dose for the booked calendar
entry (``plan_calendar.session_dose``: weight, first-session rule and stored overrides), or the
protocol's default for a session booked outside a plan; device spacing and infusion times come
from the protocol data. A decision to proceed despite a pre-dose check (a blood pressure above
the gate) is taken by the demo prescriber, as the pre-dose service requires.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical.policy import ProtocolKind
from ketaclinic.clinical.protocols import get_protocol
from ketaclinic.clinical.protocols.models import DoseBasis, Protocol
from ketaclinic.clinical.sessions.alerts import Measures
from ketaclinic.clinical.sessions.checkpoints import monitoring_schedule
from ketaclinic.clinical.sessions.predose import CheckStatus, ClinicianDecision
from ketaclinic.clinical.sessions.record import Alert
from ketaclinic.services import (
    device_feed,
    patients,
    plan_calendar,
    safety,
    session_predose,
    sessions,
)
from ketaclinic.services.context import Actor, RequestContext
from ketaclinic.services.device_feed import VITAL_FIELDS
from ketaclinic.services.policy import clinic_policy
from ketaclinic.storage.tables.sessions import (
    SessionAlertRow,
    SessionReadingRow,
    SupervisedSessionRow,
)
from ketaclinic.synthetic.demo_data import NURSE, PRESCRIBER, demo_data
from ketaclinic.synthetic.demo_plan import DemoPatient
from ketaclinic.synthetic.demo_vitals import SessionDraw

ESK, IV = ProtocolKind.INTRANASAL_ESKETAMINE, ProtocolKind.IV_RACEMIC
_ACK_NOTES = {
    "dissociation": "Reassured; calm and oriented, expected to settle as the dose wears off.",
    "default": "Seen at once: rechecked after rest, settling without treatment; prescriber told.",
}
PATH = (
    "scheduled",
    "checked-in",
    "predose-passed",
    "dosing",
    "monitoring",
    "ready-for-discharge",
    "discharged",
)


@dataclass(frozen=True)
class PlanEntry:
    """The calendar entry a session carries out."""

    plan_id: str
    sequence: int
    plan_session_id: str


@dataclass
class Walk:
    db: Session
    person: DemoPatient
    kind: ProtocolKind
    t0: datetime
    entry: PlanEntry | None = None
    session_id: str = ""
    # The load's time: nothing is charted after it (a live session has readings up to now only).
    now: datetime | None = None
    _dose_mg: float | None = field(default=None, repr=False)
    _draw: SessionDraw | None = field(default=None, repr=False)

    @property
    def protocol(self) -> Protocol:
        return get_protocol(self.person.course.protocol_id)

    def ctx(self, minutes: float, actor: Actor = NURSE) -> RequestContext:
        return RequestContext(actor=actor, now=self.t0 + timedelta(minutes=minutes))

    @property
    def state(self) -> str | None:
        row = self.db.get(SupervisedSessionRow, self.session_id) if self.session_id else None
        return None if row is None else row.state

    def dose_mg(self) -> float:
        """The plan's dose for the booked entry (a session is dosed only from a plan)."""
        if self._dose_mg is None:
            assert self.entry is not None, "only a session booked from a plan is dosed"
            dose = plan_calendar.session_dose(
                self.db, self.ctx(10), self.entry.plan_id, self.entry.sequence
            )
            self._dose_mg = dose.dose_mg
        return self._dose_mg

    def device_times(self) -> list[float]:
        """Minutes of each nasal device from t0: the first at 15, then the protocol's spacing."""
        devices = self.protocol.devices
        assert devices is not None
        count = round(self.dose_mg() / devices.device_mg)
        return [15 + k * devices.spacing_minutes for k in range(count)]

    def infusion_minutes(self) -> float:
        assert self.protocol.infusion is not None
        return self.protocol.infusion.default_duration_min

    @property
    def with_bprs(self) -> bool:
        row = self.db.get(SupervisedSessionRow, self.session_id)
        return bool(row and row.with_bprs)

    def scales(self, **extra: Any) -> dict[str, Any]:
        """The session's scales (MOAA/S, CADSS, and BPRS+ where the protocol asks for it)."""
        return (
            {"moaas": 5, "cadss_total": 0}
            | ({"bprs_positive_total": 0} if self.with_bprs else {})
            | extra
        )

    def baseline(self) -> Measures:
        vitals = self.person.intake_vitals
        return Measures(
            **{k: vitals[k] for k in vitals}, **self.scales(), phq9_item9=0, cssrs_risk="none"
        )

    def dose_minutes(self) -> tuple[float, float]:
        """Minutes from t0 of the dose's start (the first device) and end."""
        if self.kind is ESK:
            times = self.device_times()
            return times[0], times[-1]
        return 15, 15 + self.infusion_minutes()

    def chart_until(self, minutes: float) -> None:
        """Every monitoring checkpoint due by ``t0 + minutes`` (and by now): the bedside monitor
        sends its vital signs in one batch (``services.device_feed``) and the nurse charts the
        scales (MOAA/S, CADSS) where a checkpoint asks for them. A checkpoint with a reading
        already near it is left alone."""
        start, end = self.dose_minutes()
        limit = self.t0 + timedelta(minutes=minutes)
        if self.now is not None:
            limit = min(limit, self.now)
        ended = self.t0 + timedelta(minutes=end)
        running = self.state == "dosing" or ended > limit
        schedule = monitoring_schedule(
            clinic_policy(self.db, self.kind),
            dose_started_at=self.t0 + timedelta(minutes=start),
            dose_ended_at=None if running else ended,
            now=limit,
            with_bprs=self.with_bprs,
        )
        due = sorted(
            {p.due_at for p in schedule if p.anchor == "at" and p.due_at <= limit}
            - {p.due_at for p in schedule if p.id.startswith("scales-")}
        )
        batch = []
        for moment in due:
            minute = (moment - self.t0).total_seconds() / 60
            if self.has_reading_at(minute):
                continue
            vitals = self.vitals_at(minute).model_dump(include=set(VITAL_FIELDS))
            reading_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{self.session_id}/monitor/{minute:g}")
            batch.append({"id": str(reading_id), "taken_at": moment.isoformat()} | vitals)
        if batch:
            device_feed.receive_readings(
                self.db, RequestContext(NURSE, limit), self.session_id, batch
            )
        charted = [str(r["id"]) for r in batch]
        for point in schedule:
            if point.id.startswith("scales-") and point.anchor == "at" and point.due_at <= limit:
                minute = (point.due_at - self.t0).total_seconds() / 60
                if not self.has_reading_at(minute):
                    self.observe(minute, point.id, self.vitals_at(minute))
                    charted.append(f"demo-{point.id}")
        self._acknowledge_at_once(charted)

    def _acknowledge_at_once(self, reading_ids: list[str]) -> None:
        """The nurse at the chair sees an alert from a charted reading and deals with it."""
        rows = self.db.scalars(
            select(SessionAlertRow).where(
                SessionAlertRow.session_id == self.session_id,
                SessionAlertRow.reading_client_id.in_(reading_ids),
                SessionAlertRow.acknowledged_at.is_(None),
            )
        ).all()
        for row in rows:
            at = RequestContext(NURSE, row.observed_at + timedelta(minutes=2))
            note = _ACK_NOTES.get(row.rule_id, _ACK_NOTES["default"])
            sessions.acknowledge_alert(self.db, at, self.session_id, row.id, note=note)

    @property
    def draw(self) -> SessionDraw:
        """The session's blood-pressure course and adverse events (``demo_vitals``)."""
        if self._draw is None:
            self._draw = SessionDraw(self.session_id, self.person.course.course_type)
        return self._draw

    def vitals_at(self, minutes: float) -> Measures:
        """A reading ``minutes`` after t0 on the session's blood-pressure course."""
        since_dose = minutes - self.dose_minutes()[0]
        systolic, diastolic = self.draw.rise_mmhg(since_dose)
        scales = {"moaas": 4, "cadss_total": 6} if self.draw.dissociated(since_dose) else {}
        return self.vitals(systolic, diastolic, 2, **scales)

    def report_adverse_events(self, minutes: float) -> None:
        """The drawn adverse events, filed by the nurse before the patient leaves."""
        reported = demo_data().adverse_events_reported
        start = self.t0 + timedelta(minutes=self.dose_minutes()[0])
        for term, severity in self.draw.events.items():
            if term not in reported:
                continue
            safety.record_adverse_event_for(
                self.db, self.ctx(minutes),
                {
                    "patient_id": self.person.patient_id, "session_id": self.session_id,
                    "verbatim_term": reported[term].verbatim, "term_id": reported[term].term_id,
                    "onset_at": start + timedelta(minutes=20),
                    "resolved_at": start + timedelta(minutes=70), "severity": severity,
                    "relatedness": "probable", "action_taken": "dose-not-changed",
                    "outcome": "recovered",
                },
            )  # fmt: skip

    def vitals(self, d_sys: float = 4, d_dia: float = 2, d_hr: float = 3, **extra: Any) -> Measures:
        base = self.person.intake_vitals
        return Measures(
            systolic_mmhg=base["systolic_mmhg"] + d_sys,
            diastolic_mmhg=base["diastolic_mmhg"] + d_dia,
            heart_rate_bpm=base["heart_rate_bpm"] + d_hr,
            spo2_percent=base["spo2_percent"],
            respiratory_rate_per_min=base["respiratory_rate_per_min"],
            **self.scales(**extra),
        )

    def observe(self, minutes: float, name: str, measures: Measures) -> list[Alert]:
        _, alerts = sessions.record_observation(
            self.db, self.ctx(minutes), self.session_id, f"demo-{name}", measures
        )
        return alerts

    def catch_up(self) -> None:
        """A session left in progress: the checkpoints due by now are charted."""
        if self.now is not None and self.state in ("dosing", "monitoring"):
            self.chart_until((self.now - self.t0).total_seconds() / 60)

    def has_reading_at(self, minutes: float) -> bool:
        moment = self.t0 + timedelta(minutes=minutes)
        found = self.db.scalar(
            select(SessionReadingRow.id).where(
                SessionReadingRow.session_id == self.session_id,
                SessionReadingRow.taken_at >= moment - timedelta(minutes=2),
                SessionReadingRow.taken_at <= moment + timedelta(minutes=2),
            )
        )
        return found is not None

    def acknowledge_open_alerts(self, minutes: float, note: str) -> None:
        open_ids = self.db.scalars(
            select(SessionAlertRow.id).where(
                SessionAlertRow.session_id == self.session_id,
                SessionAlertRow.acknowledged_at.is_(None),
            )
        ).all()
        for alert_id in open_ids:
            sessions.acknowledge_alert(
                self.db, self.ctx(minutes), self.session_id, alert_id, note=note
            )

    # --- the standard visit, one step per state ----------------------------------------------

    def to(self, state: str) -> None:
        """Run the standard steps from the session's state up to ``state``."""
        target = PATH.index(state)
        current = self.state
        start = 0 if current is None else PATH.index(current) + 1
        for step in _STEPS[start : target + 1]:
            step(self)

    def finish(self, *, sign: bool = True) -> None:
        """The rest of the visit from wherever it stands: discharged (and signed)."""
        if self.state in PATH:
            if self.state in ("monitoring", "ready-for-discharge"):
                self.acknowledge_open_alerts(
                    140, "Rechecked after rest: settled; prescriber informed, no treatment."
                )
            self.to("discharged")
        if sign:
            sessions.sign(self.db, self.ctx(160, PRESCRIBER), self.session_id)


def _check_in(w: Walk) -> None:
    sessions.check_in(w.db, w.ctx(0), w.session_id)
    if w.protocol.dose.basis is DoseBasis.MG_PER_KG:
        # Weighed at check-in: a mg/kg dose needs a weight recent enough for the clinic's policy.
        weight_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"ketaclinic-demo/{w.session_id}/weight"))
        patients.record_vitals(
            w.db, w.ctx(2), w.person.patient_id, {"weight_kg": w.person.weight_kg},
            w.t0 + timedelta(minutes=2), record_ids={"weight_kg": weight_id},
        )  # fmt: skip
    w.observe(5, "baseline", w.baseline())


def _predose(w: Walk) -> None:
    answers = {
        "identity_confirmed": True,
        "last_food_at": w.t0 - timedelta(hours=3),
        "last_liquid_at": w.t0 - timedelta(hours=1),
        "escort_confirmed": True,
        "transport_confirmed": True,
        "pregnancy_status": "not-pregnant" if w.person.identity["sex"] == "F" else "not-applicable",
    }
    # Eligibility and the planned dose are not typed: the pre-dose service reads them from the
    # screening in force and the booked plan entry.
    policy = clinic_policy(w.db, w.kind)
    baseline = w.person.intake_vitals
    above_gate = baseline["systolic_mmhg"] > policy.number(
        "predose_bp_gate_systolic_mmhg"
    ) or baseline["diastolic_mmhg"] > policy.number("predose_bp_gate_diastolic_mmhg")
    if not above_gate:
        session_predose.pass_predose(w.db, w.ctx(10), w.session_id, answers)
        return
    checked = session_predose.evaluate_predose_checks(w.db, w.ctx(9), w.session_id, answers)
    waiting = [i.id for i in checked.items if i.status is CheckStatus.NEEDS_DECISION]
    # A blood pressure above the gate: the prescriber rechecks and decides to proceed.
    note = "Rechecked after rest; stable, known baseline. Proceed."
    decision = ClinicianDecision(by=PRESCRIBER.display_name, at=w.t0, note=note)
    session_predose.pass_predose(
        w.db, w.ctx(10, PRESCRIBER), w.session_id, answers,
        decisions=dict.fromkeys(waiting, decision),
    )  # fmt: skip


def _start_dosing(w: Walk) -> None:
    dose = w.dose_mg()
    if w.kind is ESK:
        devices = w.protocol.devices
        assert devices is not None
        sessions.start_dosing(
            w.db, w.ctx(15), w.session_id, product="SPRAVATO", lot_number="DEMO-ESK-24A17",
            formulation=f"nasal spray, {devices.device_mg:g} mg device", dose_mg=dose,
            administered_by="patient (self, observed)", supervised_by=NURSE.display_name,
        )  # fmt: skip
        sessions.add_dosing_event(
            w.db, w.ctx(w.device_times()[0]), w.session_id, "device", device_mg=devices.device_mg
        )
    else:
        sessions.start_dosing(
            w.db, w.ctx(15), w.session_id, product="ketamine hydrochloride",
            formulation="solution for infusion", lot_number="DEMO-KET-5521", dose_mg=dose,
            concentration_mg_per_ml=1.0,
            initial_rate_mg_per_h=round(dose * 60 / w.infusion_minutes(), 1),
            administered_by=NURSE.display_name, supervised_by=PRESCRIBER.display_name,
        )  # fmt: skip


def _end_dosing(w: Walk) -> None:
    if w.kind is ESK:
        devices = w.protocol.devices
        assert devices is not None
        times = w.device_times()
        for minute in times[1:]:
            w.chart_until(minute - 1)
            sessions.add_dosing_event(
                w.db, w.ctx(minute), w.session_id, "device", device_mg=devices.device_mg
            )
        w.chart_until(times[-1])
        sessions.end_dosing(w.db, w.ctx(times[-1]), w.session_id)
    else:
        end = 15 + w.infusion_minutes()
        w.chart_until(end)
        sessions.end_dosing(w.db, w.ctx(end), w.session_id)


def _ready(w: Walk) -> None:
    # Every checkpoint after the dose (the REMS ~40-minute BP among them), then the last readings
    # before the patient leaves; a BP alert on the way was rechecked and settled.
    w.chart_until(147)
    w.observe(148, "before-discharge", w.vitals_at(148))
    w.acknowledge_open_alerts(149, "Rechecked after rest: settled; prescriber informed.")
    w.report_adverse_events(149)
    sessions.mark_ready(w.db, w.ctx(150), w.session_id, escort_present=True)


def _discharge(w: Walk) -> None:
    sessions.discharge(w.db, w.ctx(152), w.session_id, escort_present=True)


def _not_again(w: Walk) -> None:
    raise AssertionError("a demo session is booked once, by the scenario")


_STEPS: tuple[Callable[[Walk], None], ...] = (
    _not_again,
    _check_in,
    _predose,
    _start_dosing,
    _end_dosing,
    _ready,
    _discharge,
)
