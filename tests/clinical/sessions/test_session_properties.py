"""Properties: checkpoint states only move forward in time; observation batches are idempotent."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from clinical.sessions.session_walk import RECOVERED, T0, dosed_esketamine
from ketaclinic.clinical.policy import default_policy
from ketaclinic.clinical.sessions import record as R
from ketaclinic.clinical.sessions.alerts import Measures
from ketaclinic.clinical.sessions.checkpoints import (
    CheckpointState,
    checkpoint_status,
    monitoring_schedule,
)

POLICY = default_policy("intranasal-esketamine")
START = T0 + timedelta(minutes=15)
ORDER = [
    CheckpointState.UPCOMING,
    CheckpointState.DUE,
    CheckpointState.LATE,
    CheckpointState.MISSED,
]


@settings(deadline=None)  # a shared 2-core machine: time is not what these test
@given(st.lists(st.integers(min_value=0, max_value=240), min_size=2, max_size=8))
def test_open_checkpoints_only_move_forward(offsets: list[int]) -> None:
    schedule = monitoring_schedule(
        POLICY, dose_started_at=START, dose_ended_at=START + timedelta(minutes=5), now=START
    )
    timed = [p for p in schedule if p.anchor == "at"]
    previous: dict[str, int] = {}
    for offset in sorted(offsets):
        now = START + timedelta(minutes=offset)
        for status in checkpoint_status(timed, [], POLICY, now=now):
            rank = ORDER.index(status.state)
            assert rank >= previous.get(status.checkpoint.id, 0)
            previous[status.checkpoint.id] = rank


_BATCH = [
    R.Observation(
        id=f"dev-{k}",
        taken_at=START + timedelta(minutes=10 * k),
        measures=RECOVERED.model_copy(update={"systolic_mmhg": 128 + 5 * k}),
        recorded_by="monitor",
    )
    for k in range(1, 9)
]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(_BATCH), min_size=1, max_size=20))
def test_resending_readings_in_any_order_stores_each_once(sent: list[R.Observation]) -> None:
    record = dosed_esketamine()
    for observation in sent + list(reversed(sent)):
        record, _ = R.add_observation(record, observation, POLICY)
    stored = [o.id for o in record.observations if o.id.startswith("dev-")]
    assert sorted(stored) == sorted({o.id for o in sent})
    # Whatever the order, a rule fires once while its alert stays open.
    rules = [a.finding.rule_id for a in record.alerts]
    assert len(rules) == len(set(rules))


def _merged_in_time_order(record: R.SessionRecord) -> dict[str, object]:
    """The baseline's definition, spelt out: pre-dose values merged oldest first."""
    cut = record.dose_started_at
    merged: dict[str, object] = {}
    for observation in sorted(record.observations, key=lambda o: o.taken_at):
        if cut is None or observation.taken_at <= cut:
            merged.update(observation.measures.model_dump(exclude_none=True))
    return merged


_PARTIAL = [
    R.Observation(
        id=f"pre-{k}",
        taken_at=T0 + timedelta(minutes=minute),
        measures=Measures.model_validate(values),
        recorded_by="monitor",
    )
    for k, (minute, values) in enumerate(
        [
            (6, {"systolic_mmhg": 150}),
            (6, {"systolic_mmhg": 136, "heart_rate_bpm": 90}),
            (8, {"diastolic_mmhg": 70}),
            (1, {"spo2_percent": 95, "systolic_mmhg": 118}),
            (14, {"heart_rate_bpm": 66}),
            (40, {"systolic_mmhg": 175, "diastolic_mmhg": 99}),  # after dosing: not baseline
        ]
    )
]


@settings(max_examples=40, deadline=None)
@given(st.permutations(_PARTIAL), st.integers(min_value=0, max_value=len(_PARTIAL)))
def test_the_batch_baseline_is_the_time_ordered_merge(
    arrival: list[R.Observation], split: int
) -> None:
    # Readings arrive in any order, some stored before a batch and some in it: each one is judged
    # against the same baseline a full re-merge of the record would give.
    record = dosed_esketamine()
    for observation in arrival[:split]:
        record, _ = R.add_observation(record, observation, POLICY)
    batch = R.ObservationBatch(record, POLICY)
    for observation in arrival[split:]:
        batch.add(observation)
        assert batch.record().baseline().model_dump(exclude_none=True) == _merged_in_time_order(
            batch.record()
        )
