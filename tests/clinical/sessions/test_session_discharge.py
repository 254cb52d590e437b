"""Discharge refused for each unmet criterion; the REMS 'ready to leave' time, worked by hand.

Esketamine session: devices at 09:15 and 09:20, baseline 128/82 mmHg, HR 72. Clinic range for
discharge (defaults): systolic <= baseline + 20, diastolic <= baseline + 10, HR <= baseline + 20.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from clinical.sessions.session_walk import (
    BASELINE,
    ESK,
    IV,
    NURSE,
    RECOVERED,
    T0,
    dosed_esketamine,
    dosed_iv,
    observe,
)
from ketaclinic.clinical.policy import default_policy, effective_policy
from ketaclinic.clinical.sessions import record as R
from ketaclinic.clinical.sessions.alerts import Measures
from ketaclinic.clinical.sessions.discharge import DischargeAssessment, assess_discharge
from ketaclinic.errors import RuleViolation

POLICY = default_policy(ESK)
PEAK = Measures(
    systolic_mmhg=150,
    diastolic_mmhg=90,
    heart_rate_bpm=80,
    spo2_percent=97,
    respiratory_rate_per_min=14,
    moaas=4,
    cadss_total=12,
)


def hm(hour: int, minute: int) -> datetime:
    return T0.replace(hour=hour, minute=minute)


def _session(final: Measures = RECOVERED, acknowledge: bool = True) -> R.SessionRecord:
    record = dosed_esketamine()
    record = observe(record, "m40", hm(9, 55), PEAK, POLICY)
    record = observe(record, "m65", hm(10, 20), RECOVERED, POLICY)
    if acknowledge:
        for alert in record.open_alerts:
            record = R.acknowledge_alert(
                record, alert.id, by="Dr Sam Okafor", at=hm(9, 57), note="seen; reassured"
            )
    return observe(record, "m115", hm(11, 10), final, POLICY)


def _assess(record: R.SessionRecord, at: datetime, escort: bool = True) -> DischargeAssessment:
    return assess_discharge(record, POLICY, at=at, escort_present=escort)


def _unmet(assessment: DischargeAssessment) -> set[str]:
    return {u.id for u in assessment.unmet}


def test_ready_at_two_hours_and_ready_to_leave_minutes() -> None:
    assessment = _assess(_session(), hm(11, 15))
    assert assessment.ready, assessment.unmet
    assert assessment.observation_minutes == 120
    # Every clinical criterion held from the 10:20 reading on: 65 minutes after the first device.
    assert assessment.clinically_ready_at == hm(10, 20)
    assert assessment.clinically_ready_minutes == 65


def test_minimum_observation_counts_from_the_first_device() -> None:
    assessment = _assess(_session(), hm(11, 14))
    assert _unmet(assessment) == {"minimum-observation"}
    assert "earliest discharge 2026-03-02T11:15" in assessment.unmet[0].message


@pytest.mark.parametrize(
    ("final", "criterion"),
    [
        (RECOVERED.model_copy(update={"systolic_mmhg": 149}), "vitals-within-range"),
        (RECOVERED.model_copy(update={"diastolic_mmhg": 93}), "vitals-within-range"),
        (RECOVERED.model_copy(update={"heart_rate_bpm": 93}), "vitals-within-range"),
        (RECOVERED.model_copy(update={"moaas": 4}), "moaas-5"),
        (RECOVERED.model_copy(update={"cadss_total": 5}), "dissociation-resolved"),
    ],
)
def test_clinical_criteria_refuse_discharge(final: Measures, criterion: str) -> None:
    assert criterion in _unmet(_assess(_session(final), hm(11, 15)))


def test_values_at_the_edge_of_the_range_are_accepted() -> None:
    edge = RECOVERED.model_copy(
        update={"systolic_mmhg": 148, "diastolic_mmhg": 92, "heart_rate_bpm": 92, "cadss_total": 4}
    )
    assert _assess(_session(edge), hm(11, 15)).ready


def test_low_spo2_is_unmet_and_raises_an_alert() -> None:
    record = _session(RECOVERED.model_copy(update={"spo2_percent": 89}))
    assert [a.finding.rule_id for a in record.open_alerts] == ["spo2-low"]
    assessment = _assess(record, hm(11, 15))
    assert {"vitals-within-range", "no-open-alert"} <= _unmet(assessment)


def test_open_alert_escort_and_stale_bp_refuse_discharge() -> None:
    assert "no-open-alert" in _unmet(_assess(_session(acknowledge=False), hm(11, 15)))
    assert _unmet(_assess(_session(), hm(11, 15), escort=False)) == {"escort-present"}
    # Last BP 11:10; at 11:26 it is 16 minutes old (limit: the 15-minute after-dose interval).
    assert _unmet(_assess(_session(), hm(11, 26))) == {"predischarge-bp"}


def test_dosing_not_finished_refuses_discharge() -> None:
    record = dosed_esketamine()
    running = record.model_copy(
        update={"dosing": record.dosing.model_copy(update={"stopped_at": None})}
    )  # type: ignore[union-attr]
    assert "dosing-finished" in _unmet(_assess(running, hm(11, 15)))


def test_ready_time_restarts_when_the_patient_gets_worse_again() -> None:
    record = _session()
    record = observe(record, "m85", hm(10, 40), RECOVERED.model_copy(update={"moaas": 4}), POLICY)
    assessment = _assess(record, hm(11, 15))
    assert assessment.clinically_ready_at == hm(11, 10)
    assert assessment.clinically_ready_minutes == 115


def test_record_refuses_mark_ready_and_discharge_when_criteria_unmet() -> None:
    record = _session()
    early = _assess(record, hm(11, 0))
    with pytest.raises(RuleViolation, match="Observed 105 of 120"):
        R.mark_ready(record, early, at=hm(11, 0), by=NURSE)
    with pytest.raises(RuleViolation):
        R.discharge(record, early, at=hm(11, 0), by=NURSE)


def test_iv_observation_counts_from_start_of_infusion_and_is_clinic_configurable() -> None:
    policy = default_policy(IV)
    record = dosed_iv()  # 09:15 to 09:55
    record = observe(record, "a", hm(10, 30), RECOVERED, policy)
    record = observe(record, "b", hm(11, 10), RECOVERED, policy)
    at = hm(11, 15)
    assert assess_discharge(record, policy, at=at, escort_present=True).ready
    assert not assess_discharge(record, policy, at=hm(11, 12), escort_present=True).ready
    shorter, _ = effective_policy(IV, {"min_observation_minutes": 90})
    assert assess_discharge(record, shorter, at=hm(11, 12), escort_present=True).ready
    # First reading after the infusion with everything back: 10:30 = 75 min after the start.
    assert (
        assess_discharge(record, policy, at=at, escort_present=True).clinically_ready_minutes == 75
    )
    assert BASELINE.systolic_mmhg == 128  # the baseline all the ranges above were worked from


def test_discharge_needs_a_fresh_assessment() -> None:
    record = _session()
    assessment = _assess(record, hm(11, 15))
    ready = R.mark_ready(record, assessment, at=hm(11, 15), by=NURSE)
    worse = observe(ready, "late", hm(11, 17), RECOVERED.model_copy(update={"moaas": 4}), POLICY)
    with pytest.raises(RuleViolation, match="assess again"):
        R.discharge(worse, assessment, at=hm(11, 18), by=NURSE)
    again = _assess(worse, hm(11, 18))
    assert "moaas-5" in _unmet(again)
    assert R.discharge(ready, assessment, at=hm(11, 18), by=NURSE).state.value == "discharged"
