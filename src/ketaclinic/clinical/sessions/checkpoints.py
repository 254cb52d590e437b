"""Monitoring schedule: which readings are due when, and which are late or missed.

Two layers, both from the clinic policy: the REMS three blood pressures (before dosing, ~40 minutes
after the first device or the start of the infusion, and before discharge), which the label asks
for at every esketamine session and which the clinic mirrors for racemic ketamine; and the clinic's
own schedule (by default every 10 minutes while the dose runs and every 15 minutes afterwards until
the minimum observation ends, as at Emory), each asking for blood pressure, heart rate, SpO2 and
respiratory rate. Scales (MOAA/S, CADSS, and BPRS+ where the protocol asks) are due before dosing,
at ~40 minutes and before discharge.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from ketaclinic.clinical.policy import EffectivePolicy
from ketaclinic.clinical.sessions.alerts import Measures
from ketaclinic.errors import InvalidInput

if TYPE_CHECKING:
    from ketaclinic.clinical.sessions.record import SessionRecord

_BP = ("systolic_mmhg", "diastolic_mmhg")
# The monitoring set: blood pressure, heart rate, pulse oximetry and respiratory rate (the
# label added respiratory depression in 2023, so breathing is counted at every vitals checkpoint).
_VITALS = (*_BP, "heart_rate_bpm", "spo2_percent", "respiratory_rate_per_min")


class CheckpointState(StrEnum):
    UPCOMING = "upcoming"
    DUE = "due"
    LATE = "late"
    MISSED = "missed"
    DONE = "done"
    DONE_LATE = "done-late"


class TimedMeasures(BaseModel):
    """A reading or a set of scale scores at one time."""

    model_config = ConfigDict(frozen=True)
    taken_at: datetime
    measures: Measures


class Checkpoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    label: str
    due_at: datetime
    required: tuple[str, ...]
    # "before" checkpoints are satisfied by any reading up to due_at (the pre-dose baseline);
    # "discharge" ones by any reading from due_at on (the last values before the patient leaves).
    anchor: str = "at"


class CheckpointStatus(BaseModel):
    model_config = ConfigDict(frozen=True)
    checkpoint: Checkpoint
    state: CheckpointState
    satisfied_at: datetime | None = None


def monitoring_schedule(
    policy: EffectivePolicy,
    *,
    dose_started_at: datetime,
    dose_ended_at: datetime | None,
    now: datetime,
    with_bprs: bool = False,
) -> list[Checkpoint]:
    """The checkpoints of one session, in time order.

    While the dose is still running (``dose_ended_at`` is None) the in-dose checkpoints are listed
    up to ``now`` plus one interval, so the next one is visible.
    """
    for name, value in (("dose_started_at", dose_started_at), ("now", now)):
        if value.tzinfo is None:
            raise InvalidInput(f"{name} needs a time zone.", field=name)
    if dose_ended_at is not None and dose_ended_at < dose_started_at:
        raise InvalidInput("The dose cannot end before it started.", field="dose_ended_at")
    during = timedelta(minutes=policy.number("vitals_interval_during_dosing_minutes"))
    after = timedelta(minutes=policy.number("vitals_interval_after_dosing_minutes"))
    rems_at = dose_started_at + timedelta(minutes=policy.number("rems_bp_checkpoint_minutes"))
    observation_end = dose_started_at + timedelta(minutes=policy.number("min_observation_minutes"))
    scales: tuple[str, ...] = ("moaas", "cadss_total") + (
        ("bprs_positive_total",) if with_bprs else ()
    )

    points = [
        Checkpoint(
            id="rems-bp-predose",
            label="REMS BP before dosing",
            due_at=dose_started_at,
            required=_BP,
            anchor="before",
        ),
        Checkpoint(
            id="scales-predose",
            label="Scales before dosing",
            due_at=dose_started_at,
            required=scales,
            anchor="before",
        ),
        Checkpoint(
            id="rems-bp-40min", label="REMS BP ~40 min after dosing", due_at=rems_at, required=_BP
        ),
        Checkpoint(
            id="scales-40min", label="Scales ~40 min after dosing", due_at=rems_at, required=scales
        ),
    ]
    end_of_dosing = dose_ended_at or max(now + during, dose_started_at + during)
    t, k = dose_started_at + during, 1
    while t < end_of_dosing:
        points.append(
            Checkpoint(
                id=f"vitals-during-{k}",
                label=f"Vitals during dosing #{k}",
                due_at=t,
                required=_VITALS,
            )
        )
        t, k = t + during, k + 1
    if dose_ended_at is not None:
        t, k = dose_ended_at + after, 1
        while t <= observation_end:
            points.append(
                Checkpoint(
                    id=f"vitals-after-{k}",
                    label=f"Vitals after dosing #{k}",
                    due_at=t,
                    required=_VITALS,
                )
            )
            t, k = t + after, k + 1
    discharge_due = max(observation_end, dose_ended_at or observation_end)
    points += [
        Checkpoint(
            id="rems-bp-predischarge",
            label="REMS BP before discharge",
            due_at=discharge_due,
            required=_BP,
            anchor="discharge",
        ),
        Checkpoint(
            id="scales-predischarge",
            label="Scales before discharge",
            due_at=discharge_due,
            required=scales,
            anchor="discharge",
        ),
    ]
    return sorted(points, key=lambda c: c.due_at)


def _has(reading: TimedMeasures, required: tuple[str, ...]) -> bool:
    return all(getattr(reading.measures, name) is not None for name in required)


def checkpoint_status(
    schedule: Sequence[Checkpoint],
    readings: Sequence[TimedMeasures],
    policy: EffectivePolicy,
    *,
    now: datetime,
) -> list[CheckpointStatus]:
    """Each checkpoint's state at ``now``; readings may come in any order."""
    grace = timedelta(minutes=policy.number("checkpoint_grace_minutes"))
    missed_after = timedelta(minutes=policy.number("checkpoint_missed_after_minutes"))
    after = timedelta(minutes=policy.number("vitals_interval_after_dosing_minutes"))
    ordered = sorted((r for r in readings if r.taken_at <= now), key=lambda r: r.taken_at)
    statuses: list[CheckpointStatus] = []
    for point in schedule:
        matching = [r for r in ordered if _has(r, point.required)]
        if point.anchor == "before":
            hits = [r for r in matching if r.taken_at <= point.due_at]
            hit = hits[-1] if hits else None
            state = (
                CheckpointState.DONE if hit else _open_state(point.due_at, now, grace, missed_after)
            )
        elif point.anchor == "discharge":
            hits = [r for r in matching if r.taken_at >= point.due_at - after]
            hit = hits[-1] if hits else None
            upcoming = now < point.due_at - after
            state = (
                CheckpointState.DONE
                if hit
                else (CheckpointState.UPCOMING if upcoming else CheckpointState.DUE)
            )
        else:
            hits = [
                r
                for r in matching
                if point.due_at - grace <= r.taken_at <= point.due_at + missed_after
            ]
            hit = hits[0] if hits else None
            if hit is None:
                state = _open_state(point.due_at, now, grace, missed_after)
            elif hit.taken_at <= point.due_at + grace:
                state = CheckpointState.DONE
            else:
                state = CheckpointState.DONE_LATE
        statuses.append(
            CheckpointStatus(
                checkpoint=point, state=state, satisfied_at=hit.taken_at if hit else None
            )
        )
    return statuses


def _open_state(
    due_at: datetime, now: datetime, grace: timedelta, missed_after: timedelta
) -> CheckpointState:
    if now < due_at:
        return CheckpointState.UPCOMING
    if now <= due_at + grace:
        return CheckpointState.DUE
    if now <= due_at + missed_after:
        return CheckpointState.LATE
    return CheckpointState.MISSED


def session_checkpoints(
    record: SessionRecord, policy: EffectivePolicy, *, now: datetime
) -> list[CheckpointStatus]:
    """The checkpoints of a session record at ``now`` (empty before dosing starts)."""
    dosing = record.dosing
    if dosing is None:
        return []
    schedule = monitoring_schedule(
        policy,
        dose_started_at=dosing.observation_anchor,
        dose_ended_at=dosing.stopped_at,
        now=now,
        with_bprs=record.with_bprs,
    )
    readings = [
        TimedMeasures(taken_at=o.taken_at, measures=o.measures) for o in record.observations
    ]
    return checkpoint_status(schedule, readings, policy, now=now)
