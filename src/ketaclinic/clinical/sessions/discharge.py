"""Discharge criteria: every one that is unmet, and when the patient was clinically ready.

Criteria (thresholds from the clinic policy): dosing finished; the minimum observation time
(esketamine: at least 2 hours after the first device, REMS; racemic: the clinic's choice, counted
from the start of dosing); recent vitals back within the clinic's range of baseline (and SpO2 and
respiratory rate above the alert levels); MOAA/S 5; dissociation resolved (label definition); no
open alert; escort present. The REMS form also asks when the patient would have been ready to
leave without the 2-hour rule: that is the start of the final run of observations after dosing at
which every clinical criterion (vitals, MOAA/S, dissociation) held.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from ketaclinic.clinical.policy import EffectivePolicy
from ketaclinic.clinical.sessions.alerts import Measures
from ketaclinic.errors import InvalidInput

if TYPE_CHECKING:
    from ketaclinic.clinical.sessions.record import SessionRecord


class UnmetCriterion(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    message: str


class DischargeAssessment(BaseModel):
    model_config = ConfigDict(frozen=True)

    session_id: str
    assessed_at: datetime
    escort_present: bool
    unmet: list[UnmetCriterion]
    observation_minutes: float | None
    clinically_ready_at: datetime | None
    # Minutes from the first device (or start of dosing) to clinical readiness: the REMS field.
    clinically_ready_minutes: float | None

    @property
    def ready(self) -> bool:
        return not self.unmet


def _clinical_problems(
    latest: Measures, baseline: Measures, policy: EffectivePolicy
) -> list[UnmetCriterion]:
    problems: list[UnmetCriterion] = []
    vitals_out: list[str] = []
    # Only a rise above baseline is checked: no source in the reference gives a drop (hypotension,
    # bradycardia) that should hold a patient back, so none is invented here. The clinician still
    # judges the readings shown, and low SpO2 / slow breathing are checked below.
    for name, param in (
        ("systolic_mmhg", "discharge_systolic_within_mmhg"),
        ("diastolic_mmhg", "discharge_diastolic_within_mmhg"),
        ("heart_rate_bpm", "discharge_heart_rate_within_bpm"),
    ):
        now, base = getattr(latest, name), getattr(baseline, name)
        if now is None or base is None:
            vitals_out.append(
                f"{name} not measured after dosing" if now is None else f"no baseline {name}"
            )
        elif now - base > policy.number(param):
            vitals_out.append(
                f"{name} {now:g} is {now - base:g} above baseline {base:g} "
                f"(limit {policy.number(param):g})"
            )
    for name, param in (
        ("spo2_percent", "spo2_low_percent"),
        ("respiratory_rate_per_min", "respiratory_rate_low_per_min"),
    ):
        value = getattr(latest, name)
        if value is None:
            vitals_out.append(f"{name} not measured after dosing")
        elif value < policy.number(param):
            vitals_out.append(f"{name} {value:g} below {policy.number(param):g}")
    if vitals_out:
        problems.append(
            UnmetCriterion(
                id="vitals-within-range", message="Vitals: " + "; ".join(vitals_out) + "."
            )
        )
    if latest.moaas != 5:
        shown = "not measured after dosing" if latest.moaas is None else str(latest.moaas)
        problems.append(UnmetCriterion(id="moaas-5", message=f"MOAA/S must be 5 (now {shown})."))
    cadss, base_cadss = latest.cadss_total, baseline.cadss_total
    if cadss is None:
        problems.append(
            UnmetCriterion(id="dissociation-resolved", message="CADSS not measured after dosing.")
        )
    elif cadss > policy.number("cadss_dissociation_total_above") and cadss - (base_cadss or 0) > 0:
        problems.append(
            UnmetCriterion(
                id="dissociation-resolved", message=f"Dissociation not resolved (CADSS {cadss:g})."
            )
        )
    return problems


def assess_discharge(
    record: SessionRecord,
    policy: EffectivePolicy,
    *,
    at: datetime,
    escort_present: bool,
) -> DischargeAssessment:
    """Every unmet discharge criterion at time ``at`` (an empty list means ready)."""
    if at.tzinfo is None:
        raise InvalidInput("The time of the discharge assessment needs a time zone.", field="at")
    unmet: list[UnmetCriterion] = []
    dosing = record.dosing
    if dosing is None or dosing.stopped_at is None:
        unmet.append(
            UnmetCriterion(
                id="dosing-finished", message="Dosing has not been recorded as finished."
            )
        )
    observation_minutes: float | None = None
    anchor = dosing.observation_anchor if dosing else None
    if anchor is not None:
        observation_minutes = (at - anchor).total_seconds() / 60
        minimum = policy.number("min_observation_minutes")
        if observation_minutes < minimum:
            earliest = anchor + timedelta(minutes=minimum)
            unmet.append(
                UnmetCriterion(
                    id="minimum-observation",
                    message=(
                        f"Observed {observation_minutes:.0f} of {minimum:g} minutes; "
                        f"earliest discharge {earliest.isoformat(timespec='minutes')}."
                    ),
                )
            )
    baseline = record.baseline()
    after = [o for o in record.observations_after_dose() if o.taken_at <= at]
    latest = Measures()
    for obs in after:
        latest = obs.measures.merged_over(latest)
    unmet += _clinical_problems(latest, baseline, policy)
    recent = timedelta(minutes=policy.number("vitals_interval_after_dosing_minutes"))
    bp_times = [o.taken_at for o in after if o.measures.systolic_mmhg is not None]
    if not bp_times or at - bp_times[-1] > recent:
        unmet.append(
            UnmetCriterion(
                id="predischarge-bp",
                message=(
                    f"Take a blood pressure within {recent.total_seconds() / 60:g} minutes "
                    "before discharge."
                ),
            )
        )
    open_alerts = [a for a in record.alerts if a.is_open and a.finding.observed_at <= at]
    if open_alerts:
        titles = ", ".join(a.finding.title for a in open_alerts)
        unmet.append(
            UnmetCriterion(
                id="no-open-alert", message=f"Open alerts need acknowledgement: {titles}."
            )
        )
    if not escort_present:
        unmet.append(
            UnmetCriterion(
                id="escort-present", message="No escort present; the patient must not drive."
            )
        )

    ready_at = _clinically_ready_at(record, policy, at)
    ready_minutes = (ready_at - anchor).total_seconds() / 60 if ready_at and anchor else None
    return DischargeAssessment(
        session_id=record.session_id,
        assessed_at=at,
        escort_present=escort_present,
        unmet=unmet,
        observation_minutes=observation_minutes,
        clinically_ready_at=ready_at,
        clinically_ready_minutes=ready_minutes,
    )


def _clinically_ready_at(
    record: SessionRecord, policy: EffectivePolicy, at: datetime
) -> datetime | None:
    dosing = record.dosing
    if dosing is None or dosing.stopped_at is None:
        return None
    baseline = record.baseline()
    latest = Measures()
    ready_since: datetime | None = None
    for obs in record.observations_after_dose():
        if obs.taken_at > at:
            break
        latest = obs.measures.merged_over(latest)
        fine = obs.taken_at >= dosing.stopped_at and not _clinical_problems(
            latest, baseline, policy
        )
        if fine and ready_since is None:
            ready_since = obs.taken_at
        elif not fine:
            ready_since = None
    return ready_since
