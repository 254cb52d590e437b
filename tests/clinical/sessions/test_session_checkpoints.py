"""Monitoring schedule for a 40-minute IV infusion and an esketamine session, worked by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from clinical.sessions.session_walk import (
    BASELINE,
    IV,
    RECOVERED,
    T0,
    checked_in,
    dosed_iv,
    observe,
)
from ketaclinic.clinical.policy import default_policy, effective_policy
from ketaclinic.clinical.sessions.alerts import Measures
from ketaclinic.clinical.sessions.checkpoints import (
    CheckpointState,
    TimedMeasures,
    checkpoint_status,
    monitoring_schedule,
    session_checkpoints,
)
from ketaclinic.errors import InvalidInput

START = T0 + timedelta(minutes=15)  # 09:15
END = START + timedelta(minutes=40)  # 09:55
POLICY = default_policy("iv-racemic")


def hm(hour: int, minute: int) -> datetime:
    return T0.replace(hour=hour, minute=minute)


def _schedule(now: datetime, dose_ended_at: datetime | None = END) -> dict[str, datetime]:
    points = monitoring_schedule(
        POLICY, dose_started_at=START, dose_ended_at=dose_ended_at, now=now
    )
    return {p.id: p.due_at for p in points}


def test_iv_schedule_every_10_during_and_15_after_until_two_hours() -> None:
    due = _schedule(hm(12, 0))
    # During: 09:25, 09:35, 09:45 (09:55 is the end of the infusion).
    assert [due[f"vitals-during-{k}"] for k in (1, 2, 3)] == [hm(9, 25), hm(9, 35), hm(9, 45)]
    assert "vitals-during-4" not in due
    # After: from 09:55 every 15 minutes up to the end of the 120-minute observation (11:15).
    assert [due[f"vitals-after-{k}"] for k in range(1, 6)] == [
        hm(10, 10),
        hm(10, 25),
        hm(10, 40),
        hm(10, 55),
        hm(11, 10),
    ]
    assert "vitals-after-6" not in due
    assert due["rems-bp-predose"] == START
    assert due["rems-bp-40min"] == hm(9, 55)
    assert due["rems-bp-predischarge"] == hm(11, 15)


def test_clinic_interval_is_configurable() -> None:
    policy, _ = effective_policy("iv-racemic", {"vitals_interval_during_dosing_minutes": 5})
    points = monitoring_schedule(policy, dose_started_at=START, dose_ended_at=END, now=hm(12, 0))
    assert sum(p.id.startswith("vitals-during") for p in points) == 7  # 09:20 ... 09:50


def test_running_infusion_shows_the_next_checkpoint() -> None:
    due = _schedule(hm(9, 27), dose_ended_at=None)
    assert due["vitals-during-2"] == hm(9, 35)
    assert not any(k.startswith("vitals-after") for k in due)


def _state(now: datetime, readings: list[TimedMeasures], checkpoint_id: str) -> CheckpointState:
    points = monitoring_schedule(POLICY, dose_started_at=START, dose_ended_at=END, now=now)
    statuses = {s.checkpoint.id: s for s in checkpoint_status(points, readings, POLICY, now=now)}
    return statuses[checkpoint_id].state


VITALS = RECOVERED


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (hm(9, 24), CheckpointState.UPCOMING),
        (hm(9, 30), CheckpointState.DUE),  # within the 5-minute grace
        (hm(9, 31), CheckpointState.LATE),
        (hm(9, 40), CheckpointState.LATE),
        (hm(9, 41), CheckpointState.MISSED),  # 15 minutes without a reading
    ],
)
def test_open_checkpoint_states_over_time(now: datetime, expected: CheckpointState) -> None:
    assert _state(now, [], "vitals-during-1") is expected


def test_done_done_late_and_incomplete_readings() -> None:
    on_time = [TimedMeasures(taken_at=hm(9, 21), measures=VITALS)]
    assert _state(hm(9, 50), on_time, "vitals-during-1") is CheckpointState.DONE
    late = [TimedMeasures(taken_at=hm(9, 33), measures=VITALS)]
    assert _state(hm(9, 50), late, "vitals-during-1") is CheckpointState.DONE_LATE
    no_spo2 = [
        TimedMeasures(taken_at=hm(9, 25), measures=VITALS.model_copy(update={"spo2_percent": None}))
    ]
    assert _state(hm(9, 50), no_spo2, "vitals-during-1") is CheckpointState.MISSED


def test_readings_out_of_order_and_in_the_future_of_now() -> None:
    readings = [
        TimedMeasures(taken_at=hm(9, 55), measures=VITALS),
        TimedMeasures(taken_at=hm(9, 5), measures=BASELINE),
        TimedMeasures(taken_at=hm(9, 35), measures=VITALS),
    ]
    assert _state(hm(9, 56), readings, "rems-bp-predose") is CheckpointState.DONE
    assert _state(hm(9, 56), readings, "vitals-during-2") is CheckpointState.DONE
    assert _state(hm(9, 56), readings, "rems-bp-40min") is CheckpointState.DONE
    # A reading stamped after "now" does not count yet.
    assert _state(hm(9, 36), readings[2:], "vitals-during-2") is CheckpointState.DONE
    assert _state(hm(9, 34), readings[2:], "vitals-during-2") is CheckpointState.UPCOMING


def test_predose_and_predischarge_anchors() -> None:
    assert _state(hm(9, 40), [], "rems-bp-predose") is CheckpointState.MISSED
    bp_only = Measures(systolic_mmhg=130, diastolic_mmhg=80)
    assert _state(hm(10, 59), [], "rems-bp-predischarge") is CheckpointState.UPCOMING
    assert _state(hm(11, 0), [], "rems-bp-predischarge") is CheckpointState.DUE
    taken = [TimedMeasures(taken_at=hm(11, 2), measures=bp_only)]
    assert _state(hm(11, 20), taken, "rems-bp-predischarge") is CheckpointState.DONE


def test_scales_include_bprs_only_where_the_protocol_asks() -> None:
    plain = monitoring_schedule(POLICY, dose_started_at=START, dose_ended_at=END, now=hm(12, 0))
    with_bprs = monitoring_schedule(
        POLICY, dose_started_at=START, dose_ended_at=END, now=hm(12, 0), with_bprs=True
    )
    scales = next(p for p in plain if p.id == "scales-40min")
    assert scales.required == ("moaas", "cadss_total")
    assert "bprs_positive_total" in next(p for p in with_bprs if p.id == "scales-40min").required


def test_bad_times_are_refused() -> None:
    with pytest.raises(InvalidInput, match="end before"):
        monitoring_schedule(POLICY, dose_started_at=START, dose_ended_at=hm(9, 0), now=hm(10, 0))
    with pytest.raises(InvalidInput, match="time zone"):
        monitoring_schedule(
            POLICY, dose_started_at=datetime(2026, 3, 2, 9), dose_ended_at=None, now=hm(9, 0)
        )


def test_checkpoints_of_a_session_record() -> None:
    record = dosed_iv()  # infusion 09:15-09:55, baseline reading at 09:05
    record = observe(record, "v1", hm(9, 26), RECOVERED, POLICY)
    statuses = {
        s.checkpoint.id: s.state for s in session_checkpoints(record, POLICY, now=hm(9, 50))
    }
    assert statuses["rems-bp-predose"] is CheckpointState.DONE
    assert statuses["vitals-during-1"] is CheckpointState.DONE
    assert statuses["vitals-during-2"] is CheckpointState.LATE  # due 09:35, nothing by 09:50
    assert statuses["vitals-during-3"] is CheckpointState.DUE  # due 09:45
    assert session_checkpoints(checked_in(IV), POLICY, now=hm(9, 50)) == []
