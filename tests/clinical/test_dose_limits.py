"""Limits in force, "not configured" ceilings, clinic settings, and the esketamine day-1 dose.

Hand-worked:
- 300 kg (the top of the plausible adult range in dosing.yaml) x 1.0 mg/kg = 300 mg IV: within
  the 1.0 mg/kg ceiling; the mg-per-session ceiling has no source and is not configured.
- IM 300 kg x 0.5 mg/kg = 150 mg: the same, against IM's 0.5 mg/kg ceiling.
- SPRAVATO TRD day 1 is 56 mg (3 devices would be 84 mg); EU 65+ day 1 is 28 mg (1 device).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ketaclinic.clinical.dosing import calculate_dose
from ketaclinic.clinical.overrides import Override
from ketaclinic.clinical.protocols import AppliedSetting, all_protocols, get_protocol
from ketaclinic.clinical.protocols.limits import evaluate_dose_limits
from ketaclinic.clinical.protocols.settings import apply_settings, setting_definitions
from ketaclinic.errors import InvalidInput, OverrideRequired

WHEN = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _override(*ids: str) -> Override:
    return Override.create(
        rule_ids=ids, reason="Discussed with the patient.", prescriber_id="dr-o", overridden_at=WHEN
    )


def _setting(setting_id: str, value: object) -> AppliedSetting:
    return AppliedSetting(
        setting_id=setting_id,
        value=value,  # type: ignore[arg-type]
        default_value=None,
        reason="Medical director's decision.",
        changed_by="Ada Admin",
        changed_at=WHEN,
    )


@pytest.mark.parametrize(
    ("protocol_id", "per_kg", "dose_mg"),
    [("iv-racemic-thrice-weekly", 1.0, 300.0), ("im-racemic", 0.5, 150.0)],
)
def test_an_unset_per_session_ceiling_is_reported_not_configured(
    protocol_id: str, per_kg: float, dose_mg: float
) -> None:
    dose = calculate_dose(protocol_id, 300, dose_mg_per_kg=per_kg)
    assert dose.dose_mg == dose_mg
    by_id = {c.id: c for c in dose.limit_checks}
    assert by_id["max-mg-per-kg"].status == "within"
    ceiling = by_id["max-mg-per-session"]
    assert (ceiling.configured, ceiling.limit, ceiling.within, ceiling.status) == (
        False,
        None,
        None,
        "not configured",
    )
    assert ceiling.value == dose_mg
    assert any(
        w.startswith("No maximum mg per session is configured") and "clinic sets it" in w
        for w in dose.warnings
    )


def test_a_clinic_ceiling_refuses_the_same_dose_unless_overridden() -> None:
    protocol = apply_settings(
        get_protocol("iv-racemic-thrice-weekly"),
        [_setting("limits.max_mg_per_session", 200)],
    )
    with pytest.raises(OverrideRequired) as refused:
        calculate_dose(protocol, 300, dose_mg_per_kg=1.0)
    assert refused.value.rule_ids == ["max-mg-per-session"]
    dose = calculate_dose(
        protocol, 300, dose_mg_per_kg=1.0, overrides=[_override("max-mg-per-session")]
    )
    check = next(c for c in dose.limit_checks if c.id == "max-mg-per-session")
    assert (check.limit, check.status) == (200, "exceeded, overridden")
    assert check.source is not None
    assert "clinic setting by Ada Admin" in check.source
    assert not any("is configured" in w for w in dose.warnings)


def test_the_limit_report_lists_limits_in_force_and_never_raises_itself() -> None:
    esketamine = get_protocol("esketamine-trd")
    report = evaluate_dose_limits(esketamine, dose_mg=112, interval_days=1)
    # A fixed-dose product has no mg/kg ceiling; its mg ceiling is the label's 84 mg.
    assert [limit.id for limit in report.limits] == ["max-mg-per-session", "min-interval-days"]
    assert report.refused == ["max-mg-per-session", "min-interval-days"]
    with pytest.raises(OverrideRequired, match="Minimum days between sessions is 2, this is 1"):
        report.require_within()


def test_settings_outside_the_configurable_list_fail_loudly() -> None:
    with pytest.raises(InvalidInput, match=r"Settable: limits\.min_interval_days"):
        apply_settings(get_protocol("esketamine-mdsi"), [_setting("dose.default", 56)])


def test_every_protocol_configurable_names_a_known_setting() -> None:
    known = set(setting_definitions())
    for protocol in all_protocols():
        assert protocol.configurable
        assert set(protocol.configurable) <= known, protocol.id


def test_esketamine_trd_first_session_is_56_mg_on_the_label() -> None:
    default = calculate_dose("esketamine-trd", 70, first_session=True)
    assert (default.dose_mg, default.devices) == (56, 2)
    first = next(c for c in default.limit_checks if c.id == "first-session-dose")
    assert (first.limit, first.status) == (56, "within")
    with pytest.raises(OverrideRequired, match="first-session dose") as refused:
        calculate_dose("esketamine-trd", 70, dose_mg=84, first_session=True)
    assert refused.value.rule_ids == ["first-session-dose"]
    overridden = calculate_dose(
        "esketamine-trd",
        70,
        dose_mg=84,
        first_session=True,
        overrides=[_override("first-session-dose")],
    )
    assert overridden.devices == 3
    # After day 1, 84 mg is a label dose.
    later = calculate_dose("esketamine-trd", 70, dose_mg=84)
    assert all(c.id != "first-session-dose" for c in later.limit_checks)


def test_eu_65_profile_fixes_day_one_at_28_mg() -> None:
    eu = {"regional_profile": "eu-65-and-over", "age_years": 70}
    assert calculate_dose("esketamine-trd", 60, first_session=True, **eu).dose_mg == 28  # type: ignore[arg-type]
    with pytest.raises(OverrideRequired) as refused:
        calculate_dose("esketamine-trd", 60, dose_mg=56, first_session=True, **eu)  # type: ignore[arg-type]
    assert refused.value.rule_ids == ["first-session-dose"]


def test_mdsi_may_start_at_56_mg_for_tolerability() -> None:
    # MDSI: 84 mg twice weekly, reduced to 56 mg for tolerability; no separate day-1 dose.
    # 56 mg = 2 devices at 0 and 5 minutes.
    dose = calculate_dose(
        "esketamine-mdsi", 70, dose_mg=56, first_session=True, first_device_at=WHEN
    )
    assert (dose.dose_mg, dose.devices, dose.device_offsets_min) == (56, 2, (0, 5))
    assert calculate_dose("esketamine-mdsi", 70, first_session=True).dose_mg == 84


def test_the_dose_shows_when_the_weight_was_measured_and_warns_when_it_is_old() -> None:
    from datetime import date

    fresh = calculate_dose(
        "iv-racemic-thrice-weekly", 80, weight_measured_on=date(2026, 3, 1),
        session_on=date(2026, 3, 4), max_weight_age_days=30,
    )  # fmt: skip
    assert fresh.weight_measured_on == date(2026, 3, 1)
    assert not any("weigh the patient" in w for w in fresh.warnings)
    old = calculate_dose(
        "iv-racemic-thrice-weekly", 80, weight_measured_on=date(2026, 1, 1),
        session_on=date(2026, 3, 4), max_weight_age_days=30,
    )  # fmt: skip
    assert any("2026-01-01, 62 days from the session" in w for w in old.warnings)
