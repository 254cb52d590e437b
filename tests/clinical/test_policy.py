"""Clinic policy: REMS-protected values for esketamine, overrides recorded, typos refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketaclinic.clinical.policy import (
    ProtocolKind,
    default_policy,
    effective_policy,
    parse_protocol_kind,
    policy_file,
)
from ketaclinic.errors import InvalidInput, RuleViolation

ESK = ProtocolKind.INTRANASAL_ESKETAMINE
IV = ProtocolKind.IV_RACEMIC


def test_esketamine_uses_label_values() -> None:
    policy = default_policy(ESK)
    # SPRAVATO label: no food 2 h, no liquids 30 min; observe >= 2 h; BP gate 140/90; rise 40/25.
    assert policy.get("fasting_food_minutes") == 120
    assert policy.get("fasting_liquid_minutes") == 30
    assert policy.get("min_observation_minutes") == 120
    assert (
        policy.get("predose_bp_gate_systolic_mmhg"),
        policy.get("predose_bp_gate_diastolic_mmhg"),
    ) == (140, 90)
    assert (policy.get("bp_rise_systolic_mmhg"), policy.get("bp_rise_diastolic_mmhg")) == (40, 25)
    assert policy.values["min_observation_minutes"].protected
    assert policy.source("min_observation_minutes").verified


def test_racemic_has_no_fasting_rule_and_unverified_gate() -> None:
    policy = default_policy(IV)
    assert policy.get("fasting_food_minutes") is None
    assert not policy.values["min_observation_minutes"].protected
    # The 140/90 gate is a label figure; for racemic ketamine it is marked unverified.
    assert not policy.source("predose_bp_gate_systolic_mmhg").verified


def test_tightening_a_rems_value_is_allowed_and_listed() -> None:
    policy, changes = effective_policy(
        ESK, {"min_observation_minutes": 150, "spo2_low_percent": 92}
    )
    assert policy.get("min_observation_minutes") == 150
    assert {c.parameter_id for c in changes} == {"min_observation_minutes", "spo2_low_percent"}
    change = next(c for c in changes if c.parameter_id == "min_observation_minutes")
    assert (change.default_value, change.new_value) == (120, 150)
    assert policy.values["min_observation_minutes"].overridden


def test_loosening_a_rems_value_is_refused() -> None:
    with pytest.raises(RuleViolation, match="protected for esketamine"):
        effective_policy(ESK, {"min_observation_minutes": 90})
    with pytest.raises(RuleViolation, match="protected"):
        effective_policy(ESK, {"predose_bp_gate_systolic_mmhg": 150})
    with pytest.raises(RuleViolation, match="cannot be switched off"):
        effective_policy(ESK, {"fasting_food_minutes": None})


def test_racemic_value_may_be_loosened_within_the_sanity_range() -> None:
    policy, changes = effective_policy(IV, {"min_observation_minutes": 60})
    assert policy.get("min_observation_minutes") == 60
    assert len(changes) == 1


def test_override_equal_to_default_is_not_a_change() -> None:
    _, changes = effective_policy(ESK, {"min_observation_minutes": 120})
    assert changes == []


def test_unknown_parameter_and_out_of_range_value_are_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="Unknown policy parameter"):
        effective_policy(IV, {"min_observation_minute": 60})
    with pytest.raises(InvalidInput, match="outside the accepted range") as err:
        effective_policy(IV, {"spo2_low_percent": 9})
    assert err.value.field == "spo2_low_percent"


def test_unknown_protocol_kind_names_the_allowed_kinds() -> None:
    with pytest.raises(InvalidInput, match="iv-racemic"):
        parse_protocol_kind("iv")


_PROTECTED = [
    p for p in policy_file().parameters if p.rems is not None and p.rems.value is not None
]


@settings(deadline=None)  # a shared 2-core machine: time is not what these test
@given(st.sampled_from(_PROTECTED), st.floats(min_value=0, max_value=1, allow_nan=False))
def test_rems_overrides_accepted_exactly_when_not_looser(param: object, fraction: float) -> None:
    from ketaclinic.clinical.policy import PolicyParameter

    assert isinstance(param, PolicyParameter)
    assert param.rems is not None
    fixed = param.rems.value
    assert fixed is not None
    value = param.allowed.min + fraction * (param.allowed.max - param.allowed.min)
    looser = value > fixed if param.stricter == "lower" else value < fixed
    if looser:
        with pytest.raises(RuleViolation):
            effective_policy(ESK, {param.id: value})
    else:
        policy, _ = effective_policy(ESK, {param.id: value})
        assert policy.get(param.id) == value


def test_cli_prints_policy_and_refuses_a_loosened_rems_value() -> None:
    import json

    from typer.testing import CliRunner

    from ketaclinic.cli import app

    runner = CliRunner()
    shown = runner.invoke(app, ["session-policy", "--kind", "intranasal-esketamine"])
    assert shown.exit_code == 0, shown.output
    params = {p["id"]: p for p in json.loads(shown.stdout)["parameters"]}
    assert params["min_observation_minutes"]["value"] == 120
    assert params["min_observation_minutes"]["protected_by_rems"] is True
    refused = runner.invoke(
        app,
        [
            "session-policy",
            "--kind",
            "intranasal-esketamine",
            "--set",
            "min_observation_minutes=90",
        ],
    )
    assert refused.exit_code == RuleViolation.exit_code
    bad = runner.invoke(
        app, ["session-policy", "--kind", "iv-racemic", "--set", "spo2_low_percent"]
    )
    assert bad.exit_code == InvalidInput.exit_code
    rules = runner.invoke(app, ["alert-rules"])
    assert rules.exit_code == 0
    assert "bp-rise-over-baseline" in {r["id"] for r in json.loads(rules.stdout)}
