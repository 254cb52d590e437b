"""Rules that read the clinic policy, uncontrolled hypertension by source, facts too old to use,
indications outside the rule set, and the rules the first round left untested."""

from __future__ import annotations

from typing import Any

import pytest
from test_screening_rules import complete

from ketaclinic.clinical.eligibility import DecisionClass, RuleClass, ScreeningInput, screen
from ketaclinic.clinical.eligibility.policy import default_screening_policy, screening_policy
from ketaclinic.clinical.policy import effective_policy


def _screen(
    policy_overrides: dict[str, float | None] | None = None,
    *,
    im_too: bool = True,
    **changes: Any,
) -> Any:
    """Screen for IV/IM with the clinic's overrides for IV (and for IM unless ``im_too``)."""
    facts = ScreeningInput.model_validate(complete(**changes))
    if policy_overrides is None:
        return screen(facts)
    iv, _ = effective_policy("iv-racemic", policy_overrides)
    im, _ = effective_policy("im-racemic", policy_overrides if im_too else None)
    return screen(facts, policy=screening_policy([iv, im]))


def _finding(decision: Any, rule_id: str) -> Any:
    return next((f for f in decision.findings if f.rule_id == rule_id), None)


def test_the_bp_gate_is_the_clinic_policy_gate_and_the_strictest_kind_wins() -> None:
    # 135/85 is within the sourced 140/90 but above a clinic's 130/90 for IV.
    bp = {"systolic_mmhg": 135, "diastolic_mmhg": 85}
    assert _finding(_screen(baseline_bp=bp), "bp-gate") is None
    # Tightened for IV only: the rule set covers IV and IM, so the stricter gate applies.
    tightened = _screen({"predose_bp_gate_systolic_mmhg": 130}, im_too=False, baseline_bp=bp)
    gate = _finding(tightened, "bp-gate")
    assert gate.status == "present"
    assert "above 130/90" in gate.reason
    assert "set by the clinic" in gate.reason
    assert tightened.policy.values["predose_bp_gate_systolic_mmhg"] == 130


def test_the_phq9_item9_cut_is_the_clinic_policy_cut() -> None:
    assert _finding(_screen(phq9_item9=1), "suicide-phq9-item9").status == "present"
    raised = _screen({"phq9_item9_positive_at_or_above": 2}, phq9_item9=1)
    assert _finding(raised, "suicide-phq9-item9") is None
    assert _finding(_screen({"phq9_item9_positive_at_or_above": 2}, phq9_item9=2),
                    "suicide-phq9-item9").status == "present"  # fmt: skip


def test_uncontrolled_hypertension_is_absolute_on_the_label_unless_the_clinic_chooses() -> None:
    # 182/96: at or above the clinic's intervention systolic 180 (clinic policy default).
    high = {"systolic_mmhg": 182, "diastolic_mmhg": 96}
    decision = _screen(baseline_bp=high)
    finding = _finding(decision, "uncontrolled-hypertension")
    assert (finding.rule_class, finding.status) == (RuleClass.ABSOLUTE, "present")
    assert "Ketalar" in finding.citation
    assert not finding.verified
    assert decision.decision is DecisionClass.NOT_ELIGIBLE
    iv, _ = effective_policy("iv-racemic")
    relative = screen(
        ScreeningInput.model_validate(complete(baseline_bp=high)),
        policy=screening_policy([iv], {"uncontrolled-hypertension": "relative-contraindication"}),
    )
    chosen = _finding(relative, "uncontrolled-hypertension")
    assert chosen.rule_class is RuleClass.RELATIVE
    assert "Cohen" in chosen.citation
    assert "chosen by the clinic" in chosen.citation
    assert relative.decision is DecisionClass.ELIGIBLE_WITH_CONDITIONS


def test_uncontrolled_hypertension_stated_or_measured_never_guessed() -> None:
    stated = _screen(hypertension_uncontrolled=True)
    assert _finding(stated, "uncontrolled-hypertension").status == "present"
    # Below the intervention level and nothing stated: not uncontrolled.
    assert _finding(_screen(), "uncontrolled-hypertension") is None
    # No blood pressure and nothing stated: missing, not absent.
    unknown = _screen(baseline_bp=None)
    assert _finding(unknown, "uncontrolled-hypertension").status == "unknown"
    # A "controlled" statement does not outweigh a reading at the intervention level.
    measured = _screen(hypertension_uncontrolled=False,
                       baseline_bp={"systolic_mmhg": 150, "diastolic_mmhg": 104})  # fmt: skip
    assert _finding(measured, "uncontrolled-hypertension").status == "present"
    esketamine = _screen(treatment="esketamine-intranasal", hypertension_uncontrolled=True)
    assert _finding(esketamine, "esketamine-uncontrolled-hypertension").rule_class is (
        RuleClass.RELATIVE
    )


def test_a_measurement_older_than_the_clinic_policy_counts_as_missing_with_its_date() -> None:
    # Screened 1 April 2026: BP of 20 Feb is 40 days old (> 30), weight of 1 Mar is 31 (> 30),
    # PHQ-9 of 25 Mar is 7 days old (<= 14).
    dated = {"screened_on": "2026-04-01",
             "measured_on": {"baseline_bp": "2026-02-20", "weight_kg": "2026-03-01",
                             "phq9_item9": "2026-03-25"}}  # fmt: skip
    decision = _screen(**dated, phq9_item9=1)
    assert decision.decision is DecisionClass.MORE_INFORMATION_NEEDED
    gate = _finding(decision, "bp-gate")
    assert gate.status == "unknown"
    assert "of 2026-02-20, is 40 days old and the clinic policy accepts 30" in gate.reason
    weight = _finding(decision, "weight-recorded")
    assert "of 2026-03-01, is 31 days old" in weight.reason
    item9 = _finding(decision, "suicide-phq9-item9")
    assert item9.status == "present"
    assert "measured 2026-03-25" in item9.reason
    # A clinic that accepts 60-day-old readings: the same BP is used, with its date shown.
    relaxed = _screen({"screening_bp_max_age_days": 60, "weight_max_age_days": 60}, **dated)
    assert _finding(relaxed, "bp-gate") is None
    assert relaxed.decision is DecisionClass.ELIGIBLE


def test_a_non_depression_indication_is_named_outside_the_rule_set() -> None:
    depression_ruled_out = [*complete()["ruled_out"], "mdd", "trd"]
    ptsd_only = _screen(diagnoses=[{"condition": "ptsd"}], ruled_out=depression_ruled_out)
    outside = _finding(ptsd_only, "indication-outside-rule-set")
    assert (outside.status, outside.rule_class) == ("present", RuleClass.CAUTION)
    assert "recorded: ptsd" in outside.reason
    assert _finding(ptsd_only, "indication-depression").status == "not-met"
    assert ptsd_only.decision is DecisionClass.NOT_ELIGIBLE
    # Depression neither recorded nor ruled out: the finding still names the PTSD.
    unasked = _screen(diagnoses=[{"condition": "ptsd"}])
    assert _finding(unasked, "indication-outside-rule-set").status == "present"
    assert _finding(unasked, "indication-depression").status == "unknown"
    # Depression with comorbid anxiety: treated for depression, nothing off-label to name.
    comorbid = _screen(diagnoses=[{"condition": "mdd"}, {"condition": "trd"}, {"condition": "gad"}])
    assert _finding(comorbid, "indication-outside-rule-set") is None
    assert comorbid.decision is DecisionClass.ELIGIBLE


@pytest.mark.parametrize(
    ("changes", "rule_id", "rule_class"),
    [
        ({"diagnoses": [{"condition": "mdd"}, {"condition": "trd"},
                        {"condition": "psychosis", "status": "historical"}]},
         "psychosis-history", RuleClass.CAUTION),
        ({"diagnoses": [{"condition": "mdd"}, {"condition": "trd"},
                        {"condition": "substance-use-disorder", "status": "in-remission"}]},
         "substance-use-history", RuleClass.CAUTION),
        ({"diagnoses": [{"condition": "mdd"}, {"condition": "trd"},
                        {"condition": "raised-intraocular-pressure"}]},
         "raised-icp-iop", RuleClass.RELATIVE),
        ({"hepatic_impairment": "moderate"}, "hepatic-moderate", RuleClass.CAUTION),
        ({"current_medications": [{"name": "lamotrigine"}]}, "lamotrigine", RuleClass.CAUTION),
        ({"current_medications": [{"classes": ["opioid"]}]}, "opioids", RuleClass.CAUTION),
        ({"current_medications": [{"classes": ["psychostimulant"]}]}, "stimulants-maoi",
         RuleClass.CAUTION),
        ({"urinary_symptoms": True}, "urinary-symptoms", RuleClass.CAUTION),
        ({"breastfeeding": True}, "breastfeeding", RuleClass.RELATIVE),
        ({"hypersensitivity_to_ketamine": True}, "hypersensitivity", RuleClass.ABSOLUTE),
        ({"diagnoses": [{"condition": "mdd"}, {"condition": "trd"},
                        {"condition": "cardiovascular-disease"}]},
         "cardiovascular-disease", RuleClass.RELATIVE),
    ],
)  # fmt: skip
def test_each_rule_fires_on_its_own_fact(
    changes: dict[str, Any], rule_id: str, rule_class: RuleClass
) -> None:
    ruled = [c for c in complete()["ruled_out"]
             if c not in {d["condition"] for d in changes.get("diagnoses", [])}]  # fmt: skip
    decision = _screen(**changes, ruled_out=ruled)
    finding = _finding(decision, rule_id)
    assert finding is not None, [f.rule_id for f in decision.findings]
    assert (finding.status, finding.rule_class) == ("present", rule_class)
    assert _finding(_screen(), rule_id) is None


def test_the_default_policy_is_the_sourced_clinic_policy() -> None:
    policy = default_screening_policy(ScreeningInput.model_validate(complete()).treatment)
    assert policy.values["predose_bp_gate_systolic_mmhg"] == 140
    assert policy.max_age_days("phq9_item9") == 14
