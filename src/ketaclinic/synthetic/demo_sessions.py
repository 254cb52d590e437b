"""The demo clinic's supervised sessions: today's board in every state, and closed sessions with
alerts, adverse events (one serious), REMS forms submitted, due and overdue, a bladder flag and a
misuse flag, all written through the session, safety and REMS services.

Deterministic and idempotent: every session id comes from the seed and the scenario's name, and a
scenario whose session exists is skipped. Each step runs with a request time equal to the moment
it happened (the services refuse charted times in the future), counted back from the clinic's
"today" so the Today page shows sessions in progress. Scenarios are dealt to the demo patients on
an esketamine course and on an IV course in index order; a small demo with fewer such patients
simply gets fewer scenarios. Doses, device spacing and infusion times come from each patient's
protocol data (``clinical/data/protocols``), never from numbers written here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from ketaclinic.clinical.policy import ProtocolKind
from ketaclinic.clinical.protocols import get_protocol
from ketaclinic.clinical.protocols.models import DoseBasis, Protocol
from ketaclinic.clinical.sessions.alerts import Measures
from ketaclinic.clinical.sessions.predose import ClinicianDecision
from ketaclinic.clinical.sessions.record import Alert
from ketaclinic.services import consents, rems, safety, sessions
from ketaclinic.services.context import Actor, RequestContext
from ketaclinic.storage.tables.sessions import SupervisedSessionRow
from ketaclinic.synthetic.demo_plan import DemoPatient, demo_id

# The demo accounts' names (ketaclinic.services.users), so the board reads like the demo staff.
NURSE = Actor(user_id=None, role="nurse", display_name="Noel Nurse")
PRESCRIBER = Actor(user_id=None, role="prescriber", display_name="Dr Priya Prescriber")
ESK, IV = ProtocolKind.INTRANASAL_ESKETAMINE, ProtocolKind.IV_RACEMIC


@dataclass
class _Walk:
    """One demo session: its id, its patient and the time its steps count from."""

    db: Session
    person: DemoPatient
    session_id: str
    kind: ProtocolKind
    t0: datetime

    @property
    def protocol(self) -> Protocol:
        return get_protocol(self.person.course.protocol_id)

    def dose_mg(self) -> float:
        """The protocol's default dose (esketamine in mg; racemic IV in mg/kg times weight)."""
        default = self.protocol.dose.default
        assert default is not None, "demo courses use protocols with a default dose"
        if self.protocol.dose.basis is DoseBasis.MG_PER_KG:
            return round(default * self.person.weight_kg, 1)
        return default

    def max_dose_mg(self) -> float:
        limits = self.protocol.limits
        if limits.max_mg_per_kg is not None:
            return round(limits.max_mg_per_kg * self.person.weight_kg, 1)
        return limits.max_mg_per_session or self.protocol.dose.maximum

    def device_times(self) -> list[float]:
        """Minutes of each nasal device from t0: the first at 15, then the protocol's spacing."""
        devices = self.protocol.devices
        assert devices is not None
        count = round(self.dose_mg() / devices.device_mg)
        return [15 + k * devices.spacing_minutes for k in range(count)]

    def infusion_minutes(self) -> float:
        assert self.protocol.infusion is not None
        return self.protocol.infusion.default_duration_min

    def ctx(self, minutes: float, actor: Actor = NURSE) -> RequestContext:
        return RequestContext(actor=actor, now=self.t0 + timedelta(minutes=minutes))

    def baseline(self) -> Measures:
        vitals = self.person.intake_vitals
        return Measures(
            **{k: vitals[k] for k in vitals},
            moaas=5, cadss_total=0, phq9_item9=0, cssrs_risk="none",
        )  # fmt: skip

    def vitals(self, d_sys: float = 4, d_dia: float = 2, d_hr: float = 3, **extra: Any) -> Measures:
        base = self.person.intake_vitals
        return Measures(
            systolic_mmhg=base["systolic_mmhg"] + d_sys,
            diastolic_mmhg=base["diastolic_mmhg"] + d_dia,
            heart_rate_bpm=base["heart_rate_bpm"] + d_hr,
            spo2_percent=base["spo2_percent"],
            respiratory_rate_per_min=base["respiratory_rate_per_min"],
            **({"moaas": 5, "cadss_total": 0} | extra),
        )

    def observe(self, minutes: float, name: str, measures: Measures) -> list[Alert]:
        _, alerts = sessions.record_observation(
            self.db, self.ctx(minutes), self.session_id, f"demo-{name}", measures
        )
        return alerts


def _consents(
    db: Session, ctx: RequestContext, person: DemoPatient, seed: int, first_session: datetime
) -> None:
    """Treatment consent and REMS enrolment, signed at intake (or the day before the session)."""
    at = min(person.intake_at, first_session - timedelta(days=1))
    for kind in ("treatment", "rems-enrolment"):
        if consents.active_consent(db, person.patient_id, kind, at=at) is None:
            consents.record_consent(
                db, RequestContext(ctx.actor, at), person.patient_id, kind, given_at=at,
                consent_id=demo_id(seed, "patient", person.index, "consent", kind),
            )  # fmt: skip


def _scheduled(w: _Walk, minutes_from_t0: float = 0) -> None:
    sessions.schedule_session(
        w.db, w.ctx(-24 * 60, PRESCRIBER), w.person.patient_id, w.kind,
        w.t0 + timedelta(minutes=minutes_from_t0), protocol_id=w.person.course.protocol_id,
        chair=f"Chair {w.person.index % 6 + 1}", room="Treatment room",
        responsible_clinician=PRESCRIBER.display_name, weight_kg=w.person.weight_kg,
        session_id=w.session_id,
    )  # fmt: skip


def _checked_in(w: _Walk) -> None:
    _scheduled(w)
    sessions.check_in(w.db, w.ctx(0), w.session_id)
    w.observe(5, "baseline", w.baseline())


def _predose(w: _Walk) -> None:
    _checked_in(w)
    answers = {
        "identity_confirmed": True,
        "last_food_at": w.t0 - timedelta(hours=3),
        "last_liquid_at": w.t0 - timedelta(hours=1),
        "escort_confirmed": True,
        "transport_confirmed": True,
        "pregnancy_status": "not-pregnant" if w.person.identity["sex"] == "F" else "not-applicable",
        "eligibility_valid": True,
        "planned_dose_mg": w.dose_mg(),
        "max_dose_mg": w.max_dose_mg(),
    }
    # Used only if the baseline blood pressure is above the gate (a needs-decision item).
    decision = ClinicianDecision(
        by=PRESCRIBER.display_name, at=w.t0 + timedelta(minutes=9),
        note="Rechecked after rest; stable, known baseline. Proceed.",
    )  # fmt: skip
    sessions.pass_predose(
        w.db, w.ctx(10), w.session_id, answers, decisions={"blood-pressure-gate": decision}
    )


def _dosing(w: _Walk) -> None:
    _predose(w)
    dose = w.dose_mg()
    if w.kind is ESK:
        devices = w.protocol.devices
        assert devices is not None
        sessions.start_dosing(
            w.db, w.ctx(15), w.session_id, product="SPRAVATO", lot_number="DEMO-ESK-24A17",
            formulation=f"nasal spray, {devices.device_mg:g} mg device", dose_mg=dose,
            administered_by="patient (self, observed)", supervised_by=NURSE.display_name,
        )  # fmt: skip
        first = w.device_times()[0]
        sessions.add_dosing_event(
            w.db, w.ctx(first), w.session_id, "device", device_mg=devices.device_mg
        )
    else:
        sessions.start_dosing(
            w.db, w.ctx(15), w.session_id, product="ketamine hydrochloride",
            formulation="solution for infusion", lot_number="DEMO-KET-5521", dose_mg=dose,
            concentration_mg_per_ml=1.0,
            initial_rate_mg_per_h=round(dose * 60 / w.infusion_minutes(), 1),
            administered_by=NURSE.display_name, supervised_by=PRESCRIBER.display_name,
        )  # fmt: skip
        w.observe(25, "during-1", w.vitals(6, 3, 5))


def _monitoring(w: _Walk) -> None:
    _dosing(w)
    if w.kind is ESK:
        devices = w.protocol.devices
        assert devices is not None
        times = w.device_times()
        for minute in times[1:]:
            sessions.add_dosing_event(
                w.db, w.ctx(minute), w.session_id, "device", device_mg=devices.device_mg
            )
        sessions.end_dosing(w.db, w.ctx(times[-1]), w.session_id)
    else:
        for alert in w.observe(45, "during-3", w.vitals(8, 4, 6, moaas=4, cadss_total=6)):
            sessions.acknowledge_alert(
                w.db, w.ctx(47), w.session_id, alert.id,
                note="Reassured; calm and oriented, expected to settle after the infusion.",
            )  # fmt: skip
        sessions.end_dosing(w.db, w.ctx(15 + w.infusion_minutes()), w.session_id)


def _ready(w: _Walk) -> None:
    _monitoring(w)
    for minute in (65, 135, 148):
        w.observe(minute, f"recovery-{minute}", w.vitals())
    sessions.mark_ready(w.db, w.ctx(150), w.session_id, escort_present=True)


def _discharged(w: _Walk, *, sign: bool = True) -> None:
    _ready(w)
    sessions.discharge(w.db, w.ctx(152), w.session_id, escort_present=True)
    if sign:
        sessions.sign(w.db, w.ctx(160, PRESCRIBER), w.session_id)


def _acknowledged_bp_alert(w: _Walk) -> None:
    _monitoring(w)
    for alert in w.observe(55, "bp-40min", w.vitals(42, 12, 8, moaas=4)):
        sessions.acknowledge_alert(
            w.db, w.ctx(58), w.session_id, alert.id,
            note="Rechecked after 5 minutes' rest: settling; prescriber informed, no treatment.",
        )  # fmt: skip
    for minute in (100, 135, 148):
        w.observe(minute, f"recovery-{minute}", w.vitals())
    sessions.mark_ready(w.db, w.ctx(150), w.session_id, escort_present=True)
    sessions.discharge(w.db, w.ctx(152), w.session_id, escort_present=True)


def _submitted_form(w: _Walk) -> None:
    _discharged(w)
    form = rems.answer_form(
        w.db, w.ctx(170), w.session_id, monitoring_hcp_phone="+1 555-0100",
        monitoring_hcp_email="noel.nurse@demo.ketaclinic.example",
        setting_name="ketaclinic demo clinic", setting_address="1 Demo Street, Springfield",
    )  # fmt: skip
    if form.vitals_acceptable_before is None:
        # This patient's baseline was above the gate and a prescriber chose to proceed: the form
        # leaves that answer to the clinician, who records it before finalising.
        rems.answer_form(w.db, w.ctx(171), w.session_id, vitals_acceptable_before=True)
    rems.finalise_form(w.db, w.ctx(175), w.session_id)
    rems.mark_submitted(w.db, w.ctx(24 * 60), w.session_id, reference="DEMO-REMS-0001")
    # Maintenance: a clear screen five weeks ago, new frequency and urgency now (a bladder flag).
    pid = w.person.patient_id
    safety.record_bladder_screen(w.db, w.ctx(-35 * 24 * 60), pid, [])
    safety.record_bladder_screen(w.db, w.ctx(180), pid, ["frequency", "urgency"])


def _serious_event_and_transfer(w: _Walk) -> None:
    _monitoring(w)
    for alert in w.observe(55, "bp-high", w.vitals(75, 40, 20)):
        sessions.acknowledge_alert(
            w.db, w.ctx(60, PRESCRIBER), w.session_id, alert.id,
            note="Repeat BP unchanged after rest; emergency transfer arranged.",
        )  # fmt: skip
    safety.record_adverse_event_for(
        w.db, w.ctx(70, PRESCRIBER),
        {
            "patient_id": w.person.patient_id, "session_id": w.session_id,
            "verbatim_term": "Severe headache with very high blood pressure; admitted overnight",
            "term_id": "blood-pressure-increased", "onset_at": w.t0 + timedelta(minutes=50),
            "severity": "severe", "seriousness": ["hospitalisation"],
            "relatedness": "probable", "action_taken": "dose-not-changed",
            "outcome": "recovering",
        },
    )  # fmt: skip
    sessions.abort(
        w.db, w.ctx(75), w.session_id,
        reason="Transferred to the emergency department for hypertensive urgency.",
    )  # fmt: skip
    sessions.sign(w.db, w.ctx(180, PRESCRIBER), w.session_id)


def _dissociation_event(w: _Walk) -> None:
    _acknowledged_bp_alert(w)
    safety.record_adverse_event_for(
        w.db, w.ctx(160),
        {
            "patient_id": w.person.patient_id, "session_id": w.session_id,
            "verbatim_term": "Felt detached, 'watching myself from outside', settled by 60 min",
            "term_id": "dissociation", "onset_at": w.t0 + timedelta(minutes=25),
            "resolved_at": w.t0 + timedelta(minutes=80), "severity": "mild",
            "relatedness": "certain", "action_taken": "dose-not-changed", "outcome": "recovered",
        },
    )  # fmt: skip


def _open_alert(w: _Walk) -> None:
    _monitoring(w)
    w.observe(55, "bp-40min", w.vitals(44, 14, 10, moaas=4))


def _misuse(w: _Walk) -> None:
    _discharged(w)
    safety.record_misuse_signal(
        w.db, w.ctx(170), w.person.patient_id, "early-session-request",
        "Asked twice to bring the next session forward by three days.",
    )  # fmt: skip


def _no_show(w: _Walk) -> None:
    _scheduled(w)
    sessions.no_show(w.db, w.ctx(60), w.session_id)


def _aborted(w: _Walk) -> None:
    _checked_in(w)
    sessions.abort(
        w.db, w.ctx(12), w.session_id,
        reason="Unwell with a chest infection; prescriber postponed the session.",
    )  # fmt: skip


Scenario = tuple[str, Callable[[_Walk], None], float]
DAY = 24 * 60.0
# (name, walk, start in minutes before the clinic's "today" moment): esketamine, then IV.
ESK_SCENARIOS: tuple[Scenario, ...] = (
    ("esk-submitted", _submitted_form, 14 * DAY + 240),
    ("esk-serious-transfer", _serious_event_and_transfer, 10 * DAY + 240),
    ("esk-form-due", _dissociation_event, DAY + 240),
    ("esk-monitoring-open-alert", _open_alert, 70),
    ("esk-checked-in", _checked_in, 10),
    ("esk-scheduled", _scheduled, -90),
)
IV_SCENARIOS: tuple[Scenario, ...] = (
    ("iv-signed-misuse", _misuse, 7 * DAY + 240),
    ("iv-dosing", _dosing, 35),
    ("iv-ready", _ready, 160),
    ("iv-no-show", _no_show, 120),
    ("iv-aborted", _aborted, 40),
    ("iv-predose-passed", _predose, 12),
    ("iv-scheduled", _scheduled, -60),
)


def load_demo_sessions(
    db: Session, ctx: RequestContext, people: Sequence[DemoPatient], seed: int, today: datetime
) -> int:
    """Write every scenario not yet there; returns how many sessions were written."""
    on_course = {
        ESK: [p for p in people if p.course.route == "intranasal"],
        IV: [p for p in people if p.course.route == "iv"],
    }
    written = 0
    for kind, scenarios in ((ESK, ESK_SCENARIOS), (IV, IV_SCENARIOS)):
        for person, (name, walk, minutes_before) in zip(on_course[kind], scenarios, strict=False):
            session_id = demo_id(seed, "session", name)
            if db.get(SupervisedSessionRow, session_id) is not None:
                continue
            start = today - timedelta(minutes=minutes_before)
            _consents(db, ctx, person, seed, start)
            walk(_Walk(db, person, session_id, kind, start))
            written += 1
    return written
