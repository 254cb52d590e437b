"""Builders for whole sessions walked through the clinical core (IV racemic and esketamine).

Imported as ``clinical.sessions.session_walk`` (tests/ is on sys.path through tests/conftest.py).
Times are a fixed clinic morning; every number is chosen by hand so expected results can be
worked out on paper.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ketaclinic.clinical.policy import EffectivePolicy, ProtocolKind, default_policy
from ketaclinic.clinical.sessions import mar
from ketaclinic.clinical.sessions import record as R
from ketaclinic.clinical.sessions.alerts import Measures
from ketaclinic.clinical.sessions.predose import PredoseInputs, evaluate_predose
from ketaclinic.clinical.vocabulary import Route

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NURSE = "Nora Quinn, RN"
PRESCRIBER = "Dr Sam Okafor"
IV = ProtocolKind.IV_RACEMIC
ESK = ProtocolKind.INTRANASAL_ESKETAMINE

BASELINE = Measures(
    systolic_mmhg=128,
    diastolic_mmhg=82,
    heart_rate_bpm=72,
    spo2_percent=98,
    respiratory_rate_per_min=14,
    moaas=5,
    cadss_total=0,
    bprs_positive_total=4,
    phq9_item9=0,
    cssrs_risk="none",
)
RECOVERED = Measures(
    systolic_mmhg=134,
    diastolic_mmhg=84,
    heart_rate_bpm=76,
    spo2_percent=98,
    respiratory_rate_per_min=14,
    moaas=5,
    cadss_total=0,
)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def good_inputs(kind: ProtocolKind, **changes: object) -> PredoseInputs:
    values: dict[str, object] = {
        "consent_current": True,
        "rems_enrolled": True if kind is ESK else None,
        "identity_confirmed": True,
        "last_food_at": T0 - timedelta(hours=3),
        "last_liquid_at": T0 - timedelta(hours=1),
        "escort_confirmed": True,
        "transport_confirmed": True,
        "pregnancy_status": "not-pregnant",
        "baseline": BASELINE,
        "eligibility_valid": True,
        "planned_dose_mg": 56 if kind is ESK else 35,
        "max_dose_mg": 84 if kind is ESK else 70,
    }
    values.update(changes)
    return PredoseInputs.model_validate(values)


def observe(
    record: R.SessionRecord, oid: str, at: datetime, measures: Measures, policy: EffectivePolicy
) -> R.SessionRecord:
    updated, _ = R.add_observation(
        record, R.Observation(id=oid, taken_at=at, measures=measures, recorded_by=NURSE), policy
    )
    return updated


def checked_in(kind: ProtocolKind, session_id: str = "S-1") -> R.SessionRecord:
    record = R.new_session(
        session_id=session_id, patient_id="P-1", protocol_kind=kind, scheduled_for=T0, weight_kg=70
    )
    record = R.check_in(record, at=T0, by=NURSE)
    return observe(record, "base", T0 + minutes(5), BASELINE, default_policy(kind))


def dosed_esketamine(policy: EffectivePolicy | None = None) -> R.SessionRecord:
    """An esketamine session at monitoring: two 28 mg devices at 09:15 and 09:20."""
    policy = policy or default_policy(ESK)
    record = checked_in(ESK)
    result = evaluate_predose(ESK, good_inputs(ESK), policy, at=T0 + minutes(10))
    record = R.pass_predose(record, result, at=T0 + minutes(10), by=NURSE)
    start = T0 + minutes(15)
    dosing = mar.start_record(
        product="SPRAVATO",
        formulation="nasal spray 28 mg device",
        lot_number="LOT-ESK-001",
        dose_mg=56,
        route=Route.INTRANASAL,
        started_at=start,
        administered_by="patient (self, observed)",
        supervised_by=NURSE,
        weight_kg=70,
    )
    record = R.start_dosing(record, dosing, by=NURSE)
    for offset in (0, 5):
        record = R.add_dosing_event(
            record,
            mar.DosingEvent(kind="device", at=start + minutes(offset), by=NURSE, device_mg=28),
        )
    return R.end_dosing(record, at=start + minutes(5), by=NURSE)


def dosed_iv(policy: EffectivePolicy | None = None) -> R.SessionRecord:
    """An IV session at monitoring: 0.5 mg/kg (35 mg for 70 kg) over 40 minutes from 09:15."""
    policy = policy or default_policy(IV)
    record = checked_in(IV)
    result = evaluate_predose(IV, good_inputs(IV), policy, at=T0 + minutes(10))
    record = R.pass_predose(record, result, at=T0 + minutes(10), by=NURSE)
    start = T0 + minutes(15)
    dosing = mar.start_record(
        product="ketamine hydrochloride",
        formulation="solution for infusion",
        lot_number="LOT-KET-777",
        concentration_mg_per_ml=1.0,
        dose_mg=35,
        route=Route.IV,
        started_at=start,
        administered_by=NURSE,
        supervised_by=PRESCRIBER,
        weight_kg=70,
        initial_rate_mg_per_h=52.5,
    )
    record = R.start_dosing(record, dosing, by=NURSE)
    return R.end_dosing(record, at=start + minutes(40), by=NURSE)
