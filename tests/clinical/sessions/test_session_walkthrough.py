"""Whole sessions through the clinical core: IV and esketamine from scheduled to signed."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from clinical.sessions.session_walk import (
    BASELINE,
    ESK,
    IV,
    NURSE,
    PRESCRIBER,
    RECOVERED,
    T0,
    checked_in,
    dosed_esketamine,
    dosed_iv,
    good_inputs,
    observe,
)
from ketaclinic.clinical.policy import default_policy
from ketaclinic.clinical.sessions import mar
from ketaclinic.clinical.sessions import record as R
from ketaclinic.clinical.sessions.discharge import assess_discharge
from ketaclinic.clinical.sessions.lifecycle import SessionEvent, SessionState
from ketaclinic.clinical.sessions.predose import evaluate_predose
from ketaclinic.clinical.vocabulary import Route
from ketaclinic.errors import InvalidInput, RuleViolation


def hm(hour: int, minute: int) -> datetime:
    return T0.replace(hour=hour, minute=minute)


def _finish(record: R.SessionRecord) -> R.SessionRecord:
    policy = default_policy(record.protocol_kind)
    record = observe(
        record,
        "m40",
        hm(9, 55),
        RECOVERED.model_copy(update={"systolic_mmhg": 170, "moaas": 4}),
        policy,
    )
    for alert in record.open_alerts:
        record = R.acknowledge_alert(
            record, alert.id, by=PRESCRIBER, at=hm(9, 58), note="asymptomatic; recheck"
        )
    record = observe(record, "m105", hm(11, 0), RECOVERED, policy)
    record = observe(record, "m118", hm(11, 13), RECOVERED, policy)
    assessment = assess_discharge(record, policy, at=hm(11, 15), escort_present=True)
    record = R.mark_ready(record, assessment, at=hm(11, 15), by=NURSE)
    record = R.discharge(record, assessment, at=hm(11, 16), by=NURSE)
    return R.sign(record, by=PRESCRIBER, at=hm(11, 30))


@pytest.mark.parametrize("builder", [dosed_iv, dosed_esketamine])
def test_whole_session_scheduled_to_signed(builder: object) -> None:
    record = _finish(builder())  # type: ignore[operator]
    assert record.state is SessionState.DISCHARGED
    assert [s.event for s in record.steps] == [
        SessionEvent.CHECK_IN,
        SessionEvent.PASS_PREDOSE,
        SessionEvent.START_DOSING,
        SessionEvent.END_DOSING,
        SessionEvent.MARK_READY,
        SessionEvent.DISCHARGE,
    ]
    assert all(step.by and step.at.tzinfo for step in record.steps)
    assert [a.finding.rule_id for a in record.alerts] == ["bp-rise-over-baseline"]  # 170 - 128 = 42
    assert record.signature is not None
    assert record.signature.by == PRESCRIBER
    # Signed: append-only.
    with pytest.raises(RuleViolation, match="addendum"):
        observe(record, "late", hm(11, 20), RECOVERED, default_policy(record.protocol_kind))
    with pytest.raises(RuleViolation, match="addendum"):
        R.abort(record, at=hm(11, 40), by=NURSE, reason="oops")
    amended = R.add_addendum(
        record, by=NURSE, at=hm(12, 0), text="Lot number re-checked against the box."
    )
    assert amended.addenda[0].text.startswith("Lot")
    assert amended.steps == record.steps


def test_esketamine_mar_has_each_device_and_the_lot() -> None:
    record = dosed_esketamine()
    assert record.dosing is not None
    assert [e.at for e in record.dosing.devices] == [hm(9, 15), hm(9, 20)]
    assert record.dosing.delivered_device_mg == 56
    assert record.dosing.lot_number == "LOT-ESK-001"
    assert record.dosing.dose_mg_per_kg == pytest.approx(56 / 70)
    # Devices 5 minutes apart meet a 5-minute spacing; a 6-minute rule would flag the second.
    assert record.dosing.early_devices(5) == []
    early = record.dosing.early_devices(6)
    assert [e.device.at for e in early] == [hm(9, 20)]
    assert (early[0].minutes_after_previous, early[0].spacing_minutes) == (5, 6)
    assert "5 min after the previous one" in early[0].message


def test_iv_mar_with_pause_resume_and_rate_change() -> None:
    record = dosed_iv()
    assert record.dosing is not None
    assert record.dosing.dose_mg_per_kg == pytest.approx(0.5)
    base = checked_in(IV, "S-2")
    policy = default_policy(IV)
    base = R.pass_predose(
        base, evaluate_predose(IV, good_inputs(IV), policy, at=hm(9, 10)), at=hm(9, 10), by=NURSE
    )
    dosing = record.dosing.model_copy(update={"stopped_at": None, "events": ()})
    running = R.start_dosing(base, dosing, by=NURSE)
    paused = R.add_dosing_event(
        running, mar.DosingEvent(kind="pause", at=hm(9, 30), by=NURSE, reason="BP 185/100")
    )
    with pytest.raises(RuleViolation, match="already paused"):
        R.add_dosing_event(
            paused, mar.DosingEvent(kind="pause", at=hm(9, 31), by=NURSE, reason="again")
        )
    resumed = R.add_dosing_event(paused, mar.DosingEvent(kind="resume", at=hm(9, 40), by=NURSE))
    slower = R.add_dosing_event(
        resumed,
        mar.DosingEvent(
            kind="rate-change",
            at=hm(9, 40),
            by=NURSE,
            rate_mg_per_h=40,
            reason="slower after pause",
        ),
    )
    assert [e.kind for e in slower.dosing.events] == ["pause", "resume", "rate-change"]  # type: ignore[union-attr]
    with pytest.raises(InvalidInput, match="Nasal devices"):
        R.add_dosing_event(
            slower, mar.DosingEvent(kind="device", at=hm(9, 45), by=NURSE, device_mg=28)
        )
    ended = R.end_dosing(slower, at=hm(10, 5), by=NURSE, note="infusion complete after pause")
    with pytest.raises(RuleViolation, match="Dosing events are recorded while dosing"):
        R.add_dosing_event(ended, mar.DosingEvent(kind="resume", at=hm(10, 6), by=NURSE))


def test_esketamine_devices_cannot_exceed_the_dose_and_incomplete_dose_needs_a_note() -> None:
    policy = default_policy(ESK)
    record = checked_in(ESK)
    record = R.pass_predose(
        record,
        evaluate_predose(ESK, good_inputs(ESK), policy, at=hm(9, 10)),
        at=hm(9, 10),
        by=NURSE,
    )
    dosing = mar.start_record(
        product="SPRAVATO",
        formulation="nasal spray",
        lot_number="L1",
        dose_mg=56,
        route=Route.INTRANASAL,
        started_at=hm(9, 15),
        administered_by="patient",
        supervised_by=NURSE,
        weight_kg=70,
    )
    record = R.start_dosing(record, dosing, by=NURSE)
    with pytest.raises(RuleViolation, match="No nasal device"):
        R.end_dosing(record, at=hm(9, 16), by=NURSE)
    one = R.add_dosing_event(
        record, mar.DosingEvent(kind="device", at=hm(9, 15), by=NURSE, device_mg=28)
    )
    with pytest.raises(InvalidInput, match="28 of 56 mg"):
        R.end_dosing(one, at=hm(9, 21), by=NURSE)
    assert (
        R.end_dosing(one, at=hm(9, 21), by=NURSE, note="patient declined second device").state
        is SessionState.MONITORING
    )
    two = R.add_dosing_event(
        one, mar.DosingEvent(kind="device", at=hm(9, 20), by=NURSE, device_mg=28)
    )
    with pytest.raises(RuleViolation, match="above the prescribed 56 mg"):
        R.add_dosing_event(
            two, mar.DosingEvent(kind="device", at=hm(9, 25), by=NURSE, device_mg=28)
        )


def test_device_batches_are_idempotent_and_conflicts_refused() -> None:
    policy = default_policy(ESK)
    record = dosed_esketamine()
    reading = R.Observation(
        id="dev-1", taken_at=hm(9, 55), measures=RECOVERED, recorded_by="monitor-3"
    )
    once, _ = R.add_observation(record, reading, policy)
    twice, raised = R.add_observation(once, reading, policy)
    assert twice == once
    assert raised == []
    changed = reading.model_copy(
        update={"measures": RECOVERED.model_copy(update={"heart_rate_bpm": 99})}
    )
    with pytest.raises(InvalidInput, match="different values"):
        R.add_observation(once, changed, policy)


def test_an_open_alert_is_not_raised_twice_and_blocks_signing() -> None:
    policy = default_policy(ESK)
    record = dosed_esketamine()
    high = RECOVERED.model_copy(update={"systolic_mmhg": 170})
    record, first = R.add_observation(
        record, R.Observation(id="a", taken_at=hm(9, 50), measures=high, recorded_by="m"), policy
    )
    record, second = R.add_observation(
        record, R.Observation(id="b", taken_at=hm(9, 55), measures=high, recorded_by="m"), policy
    )
    assert len(first) == 1
    assert second == []
    aborted = R.abort(record, at=hm(10, 0), by=NURSE, reason="transferred to emergency department")
    with pytest.raises(RuleViolation, match="Acknowledge every alert"):
        R.sign(aborted, by=PRESCRIBER, at=hm(10, 30))
    acked = R.acknowledge_alert(
        aborted, first[0].id, by=PRESCRIBER, at=hm(10, 1), note="handed over to ED"
    )
    with pytest.raises(RuleViolation, match="already acknowledged"):
        R.acknowledge_alert(acked, first[0].id, by=PRESCRIBER, at=hm(10, 2), note="again")
    assert R.sign(acked, by=PRESCRIBER, at=hm(10, 30)).state is SessionState.ABORTED


def test_guards_on_the_way() -> None:
    policy = default_policy(ESK)
    scheduled = R.new_session(
        session_id="S-9", patient_id="P-9", protocol_kind=ESK, scheduled_for=T0
    )
    assert R.no_show(scheduled, at=hm(10, 0), by=NURSE).state is SessionState.NO_SHOW
    with pytest.raises(RuleViolation, match="Observations start at check-in"):
        R.add_observation(
            scheduled,
            R.Observation(id="x", taken_at=T0, measures=BASELINE, recorded_by=NURSE),
            policy,
        )
    with pytest.raises(RuleViolation, match="Only a closed session"):
        R.sign(scheduled, by=PRESCRIBER, at=T0)
    record = checked_in(ESK)
    failing = evaluate_predose(ESK, good_inputs(ESK, escort_confirmed=False), policy, at=hm(9, 10))
    with pytest.raises(RuleViolation, match="escort"):
        R.pass_predose(record, failing, at=hm(9, 10), by=NURSE)
    with pytest.raises(InvalidInput, match="earlier than the previous step"):
        R.abort(record, at=T0 - timedelta(minutes=1), by=NURSE, reason="wrong patient")
    passed = R.pass_predose(
        record,
        evaluate_predose(ESK, good_inputs(ESK), policy, at=hm(9, 10)),
        at=hm(9, 10),
        by=NURSE,
    )
    iv_dose = mar.start_record(
        product="ketamine",
        formulation="infusion",
        lot_number="L",
        dose_mg=35,
        route=Route.IV,
        started_at=hm(9, 15),
        administered_by=NURSE,
        supervised_by=PRESCRIBER,
        weight_kg=70,
        initial_rate_mg_per_h=52.5,
    )
    with pytest.raises(InvalidInput, match="does not match the protocol"):
        R.start_dosing(passed, iv_dose, by=NURSE)
    with pytest.raises(RuleViolation, match="Addenda are for signed records"):
        R.add_addendum(passed, by=NURSE, at=hm(9, 20), text="note")


def test_ready_patient_back_to_monitoring_needs_a_reason() -> None:
    policy = default_policy(IV)
    record = dosed_iv()
    record = observe(record, "a", hm(11, 10), RECOVERED, policy)
    assessment = assess_discharge(record, policy, at=hm(11, 15), escort_present=True)
    ready = R.mark_ready(record, assessment, at=hm(11, 15), by=NURSE)
    with pytest.raises(InvalidInput, match="reason"):
        R.resume_monitoring(ready, at=hm(11, 16), by=NURSE, reason="")
    back = R.resume_monitoring(ready, at=hm(11, 16), by=NURSE, reason="dizzy on standing")
    assert back.state is SessionState.MONITORING
