"""The demo clinic's session scenarios: what happens in each featured session, step by step.

Each scenario is a play on a ``demo_walks.Walk`` (a session already booked): the standard visit up
to some state, with the events that make the demo show every signal. ``demo_sessions`` deals them
to patients and days.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from ketaclinic.services import plan_calendar, planning, rems, safety, sessions
from ketaclinic.services.context import RequestContext
from ketaclinic.synthetic.demo_data import NURSE, PRESCRIBER
from ketaclinic.synthetic.demo_walks import ESK, IV, Walk

Play = Callable[[Walk], None]


@dataclass(frozen=True)
class Scenario:
    name: str
    route: str  # the course route of the patients it is dealt to
    play: Play
    # Check-in this many minutes before the load's time (today) or days before the first load.
    minutes_before: float = 0
    days_before: int = 0
    # A session outside a plan cannot pass its pre-dose checks (the dose comes from the plan), so
    # only a scenario that stops before them may fall back to one.
    outside_plan_allowed: bool = False
    # Dealt to a patient on another route when none on its own can come that day (the state it
    # shows is what matters, not the drug).
    any_route: bool = False


def _reach(state: str) -> Play:
    return lambda w: w.to(state)


def _with_open_alert(w: Walk) -> None:
    w.to("monitoring")
    w.chart_until(54)
    w.observe(55, "bp-40min", w.vitals(44, 14, 10, moaas=4))


def _form_due(w: Walk) -> None:
    """Discharged this morning after an acknowledged BP rise; dissociation reported."""
    w.to("monitoring")
    w.chart_until(54)
    for alert in w.observe(55, "bp-40min", w.vitals(42, 12, 8, moaas=4)):
        sessions.acknowledge_alert(
            w.db, w.ctx(58), w.session_id, alert.id,
            note="Rechecked after 5 minutes' rest: settling; prescriber informed, no treatment.",
        )  # fmt: skip
    w.to("discharged")
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


def _no_show(w: Walk) -> None:
    sessions.no_show(w.db, w.ctx(60), w.session_id)


def _aborted(w: Walk) -> None:
    w.to("checked-in")
    sessions.abort(
        w.db, w.ctx(12), w.session_id,
        reason="Unwell with a chest infection; prescriber postponed the session.",
    )  # fmt: skip


def submit_form(db: Session, session_id: str, at: datetime) -> None:
    """The clinician completes, finalises and submits a session's REMS form."""
    ctx = RequestContext(NURSE, at)
    form = rems.answer_form(
        db, ctx, session_id, monitoring_hcp_phone="+1 555-0100",
        monitoring_hcp_email="noel.nurse@demo.ketaclinic.example",
        setting_name="ketaclinic demo clinic", setting_address="1 Demo Street, Springfield",
    )  # fmt: skip
    if form.vitals_acceptable_before is None:
        # The baseline was above the gate and a prescriber chose to proceed: the form leaves that
        # answer to the clinician, who records it before finalising.
        rems.answer_form(db, ctx, session_id, vitals_acceptable_before=True)
    rems.finalise_form(db, RequestContext(NURSE, at + timedelta(minutes=5)), session_id)
    rems.mark_submitted(
        db, RequestContext(NURSE, at + timedelta(minutes=10)), session_id,
        reference=f"DEMO-REMS-{session_id[:8].upper()}",
    )  # fmt: skip


def _submitted(w: Walk) -> None:
    w.finish()
    submit_form(w.db, w.session_id, w.t0 + timedelta(hours=24))


def _serious_event_and_transfer(w: Walk) -> None:
    w.to("monitoring")
    w.chart_until(54)
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
    w.acknowledge_open_alerts(170, "Reviewed with the transfer: see the adverse event record.")
    sessions.sign(w.db, w.ctx(180, PRESCRIBER), w.session_id)
    if w.entry is not None:
        # The dose was given; the prescriber stops the course pending a review.
        plan_calendar.mark_done(w.db, w.ctx(200), w.entry.plan_id, w.entry.sequence)
        planning.stop_plan(
            w.db, w.ctx(24 * 60, PRESCRIBER), w.entry.plan_id,
            "Hypertensive urgency needing admission after dosing; course stopped pending "
            "cardiovascular review.",
        )  # fmt: skip


def _misuse(w: Walk) -> None:
    w.finish()
    safety.record_misuse_signal(
        w.db, w.ctx(170), w.person.patient_id, "early-session-request",
        "Asked twice to bring the next session forward by three days.",
    )  # fmt: skip


HISTORY_SCENARIOS: tuple[Scenario, ...] = (
    Scenario("esk-submitted", "intranasal", _submitted, days_before=14),
    Scenario("esk-serious-transfer", "intranasal", _serious_event_and_transfer, days_before=10),
    Scenario("iv-signed-misuse", "iv", _misuse, days_before=7),
)
DAY_SCENARIOS: tuple[Scenario, ...] = (
    Scenario("esk-form-due", "intranasal", _form_due, minutes_before=270),
    Scenario(
        "esk-monitoring-open-alert", "intranasal", _with_open_alert, minutes_before=70,
        any_route=True,
    ),
    Scenario(
        "esk-checked-in", "intranasal", _reach("checked-in"), minutes_before=10,
        outside_plan_allowed=True, any_route=True,
    ),
    Scenario(
        "esk-scheduled", "intranasal", _reach("scheduled"), minutes_before=-90,
        outside_plan_allowed=True, any_route=True,
    ),
    Scenario("iv-ready", "iv", _reach("ready-for-discharge"), minutes_before=160, any_route=True),
    Scenario(
        "iv-no-show", "iv", _no_show, minutes_before=120, outside_plan_allowed=True,
        any_route=True,
    ),
    Scenario(
        "iv-aborted", "iv", _aborted, minutes_before=40, outside_plan_allowed=True,
        any_route=True,
    ),
    Scenario("iv-dosing", "iv", _reach("dosing"), minutes_before=35, any_route=True),
    Scenario(
        "iv-predose-passed", "iv", _reach("predose-passed"), minutes_before=12, any_route=True
    ),
    Scenario(
        "iv-scheduled", "iv", _reach("scheduled"), minutes_before=-60,
        outside_plan_allowed=True, any_route=True,
    ),
)  # fmt: skip
KIND_OF_ROUTE = {"intranasal": ESK, "iv": IV}
