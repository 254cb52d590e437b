"""Pre-dose checks per protocol kind: every item passing, failing or needing a decision."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from clinical.sessions.session_walk import BASELINE, ESK, IV, T0, good_inputs
from ketaclinic.clinical.policy import ProtocolKind, default_policy, effective_policy
from ketaclinic.clinical.sessions.predose import (
    CheckStatus,
    ClinicianDecision,
    PredoseResult,
    evaluate_predose,
    predose_checks,
)
from ketaclinic.errors import InvalidInput

AT = T0 + timedelta(minutes=10)


def _run(kind: ProtocolKind, **changes: object) -> PredoseResult:
    return evaluate_predose(kind, good_inputs(kind, **changes), default_policy(kind), at=AT)


def _item(result: PredoseResult, item_id: str) -> tuple[CheckStatus, str]:
    item = next(i for i in result.items if i.id == item_id)
    return item.status, item.message


def test_everything_in_order_passes_for_both_kinds() -> None:
    for kind in (ESK, IV):
        result = _run(kind)
        assert result.passed, result.unmet()
        assert result.alerts == []


def test_fasting_required_for_esketamine_and_where_the_clinic_sets_it() -> None:
    assert all("fasting" in {c.id for c in predose_checks(kind)} for kind in ProtocolKind)
    # Food 30 minutes ago fails esketamine; racemic ketamine has no sourced fasting rule.
    esk = _run(ESK, last_food_at=AT - timedelta(minutes=30))
    assert _item(esk, "fasting")[0] is CheckStatus.FAILED
    iv = _run(IV, last_food_at=AT - timedelta(minutes=30))
    assert iv.passed
    assert "not required" in _item(iv, "fasting")[1]
    # A clinic that asks for 6 hours without food for IV ketamine gets the check.
    policy, _ = effective_policy(IV, {"fasting_food_minutes": 360})
    inputs = good_inputs(IV, last_food_at=AT - timedelta(minutes=300))
    strict = evaluate_predose(IV, inputs, policy, at=AT)
    assert _item(strict, "fasting")[0] is CheckStatus.FAILED


def test_fasting_food_two_hours_liquids_thirty_minutes() -> None:
    ok = _run(
        ESK, last_food_at=AT - timedelta(minutes=120), last_liquid_at=AT - timedelta(minutes=30)
    )
    assert _item(ok, "fasting")[0] is CheckStatus.PASSED
    food = _run(ESK, last_food_at=AT - timedelta(minutes=119))
    status, message = _item(food, "fasting")
    assert status is CheckStatus.FAILED
    # Last food at 07:11 -> earliest dosing 09:11.
    assert "earliest dosing 2026-03-02T09:11" in message
    drink = _run(ESK, last_liquid_at=AT - timedelta(minutes=29))
    assert _item(drink, "fasting")[0] is CheckStatus.FAILED
    unknown = _run(ESK, last_food_at=None)
    assert "not recorded" in _item(unknown, "fasting")[1]


@pytest.mark.parametrize(
    ("item_id", "changes"),
    [
        ("consent-current", {"consent_current": False}),
        ("consent-current", {"consent_current": None}),
        ("identity-confirmed", {"identity_confirmed": None}),
        ("rems-patient-enrolled", {"rems_enrolled": None}),
        ("rems-patient-enrolled", {"rems_enrolled": False}),
        ("escort-and-transport", {"escort_confirmed": False}),
        ("escort-and-transport", {"transport_confirmed": None}),
        ("pregnancy-status", {"pregnancy_status": "unknown"}),
        ("baseline-vitals", {"baseline": BASELINE.model_copy(update={"spo2_percent": None})}),
        ("suicide-screen", {"baseline": BASELINE.model_copy(update={"cssrs_risk": None})}),
        ("blood-pressure-gate", {"baseline": BASELINE.model_copy(update={"systolic_mmhg": None})}),
        ("eligibility-and-dose", {"eligibility_valid": False}),
        ("eligibility-and-dose", {"eligibility_valid_until": AT - timedelta(days=1)}),
        ("eligibility-and-dose", {"planned_dose_mg": 112}),
        ("eligibility-and-dose", {"eligibility_valid": None}),
        ("eligibility-and-dose", {"planned_dose_mg": None}),
        ("eligibility-and-dose", {"dose_problem": "No signed plan for this session."}),
    ],
)
def test_each_failed_item_blocks_the_dose(item_id: str, changes: dict[str, object]) -> None:
    result = _run(ESK, **changes)
    assert _item(result, item_id)[0] is CheckStatus.FAILED
    assert result.status is CheckStatus.FAILED
    assert not result.passed


def test_rems_enrolment_is_checked_for_esketamine_only() -> None:
    assert "rems-patient-enrolled" in {c.id for c in predose_checks(ESK)}
    assert "rems-patient-enrolled" not in {c.id for c in predose_checks(IV)}
    # Racemic ketamine has no REMS: an unanswered enrolment does not block it.
    assert _run(IV, rems_enrolled=None).passed
    status, message = _item(_run(ESK, rems_enrolled=None), "rems-patient-enrolled")
    assert (status, message) == (
        CheckStatus.FAILED,
        "SPRAVATO REMS patient enrolment on record: not recorded yet.",
    )


def test_the_eligibility_item_says_where_its_answers_came_from() -> None:
    result = _run(
        ESK,
        eligibility_summary="eligible: screening of 2026-02-20 by Dr Sam Okafor",
        dose_summary="plan version 1, calendar session 1",
    )
    status, message = _item(result, "eligibility-and-dose")
    assert status is CheckStatus.PASSED
    assert "screening of 2026-02-20 by Dr Sam Okafor" in message
    assert "Planned dose 56 mg (plan version 1, calendar session 1), within the limit 84 mg" in (
        message
    )
    # A protocol with no ceiling configured passes and says so (the clinic sets one).
    unset = _item(_run(IV, max_dose_mg=None), "eligibility-and-dose")
    assert unset[0] is CheckStatus.PASSED
    assert "no maximum dose is configured" in unset[1]


def test_dose_above_limit_passes_with_a_recorded_override() -> None:
    assert _run(ESK, planned_dose_mg=112, dose_override_recorded=True).passed


@pytest.mark.parametrize(
    ("item_id", "changes"),
    [
        ("blood-pressure-gate", {"baseline": BASELINE.model_copy(update={"systolic_mmhg": 141})}),
        ("blood-pressure-gate", {"baseline": BASELINE.model_copy(update={"diastolic_mmhg": 91})}),
        ("pregnancy-status", {"pregnancy_status": "pregnant"}),
        ("suicide-screen", {"baseline": BASELINE.model_copy(update={"phq9_item9": 1})}),
        ("suicide-screen", {"baseline": BASELINE.model_copy(update={"cssrs_risk": "moderate"})}),
    ],
)
def test_items_that_need_a_clinician_decision(item_id: str, changes: dict[str, object]) -> None:
    result = _run(ESK, **changes)
    assert _item(result, item_id)[0] is CheckStatus.NEEDS_DECISION
    assert result.status is CheckStatus.NEEDS_DECISION
    decision = ClinicianDecision(by="Dr Sam Okafor", at=AT, note="reviewed; proceed")
    decided = evaluate_predose(
        ESK, good_inputs(ESK, **changes), default_policy(ESK), at=AT, decisions={item_id: decision}
    )
    assert _item(decided, item_id)[0] is CheckStatus.DECIDED
    assert decided.passed


def test_bp_gate_at_exactly_140_over_90_passes() -> None:
    result = _run(
        ESK, baseline=BASELINE.model_copy(update={"systolic_mmhg": 140, "diastolic_mmhg": 90})
    )
    assert _item(result, "blood-pressure-gate")[0] is CheckStatus.PASSED


def test_positive_screen_also_returns_the_alert() -> None:
    result = _run(ESK, baseline=BASELINE.model_copy(update={"cssrs_risk": "high"}))
    assert "suicide-screen-cssrs-high" in {a.rule_id for a in result.alerts}


def test_bad_calls_are_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="No pre-dose check"):
        evaluate_predose(
            ESK,
            good_inputs(ESK),
            default_policy(ESK),
            at=AT,
            decisions={"horoscope": ClinicianDecision(by="x", at=AT, note="fine")},
        )
    with pytest.raises(InvalidInput, match="time zone"):
        evaluate_predose(ESK, good_inputs(ESK), default_policy(ESK), at=datetime(2026, 3, 2, 9, 10))
    with pytest.raises(InvalidInput, match="policy is for"):
        evaluate_predose(ESK, good_inputs(ESK), default_policy(IV), at=AT)
