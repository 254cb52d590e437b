"""Each rule class fires on the fact it is about, and only then; unknown is never absent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ketaclinic.clinical.eligibility import (
    DecisionClass,
    EligibilityDecision,
    RuleClass,
    ScreeningInput,
    screen,
)
from ketaclinic.clinical.overrides import Override
from ketaclinic.errors import OverrideRequired

RULED_OUT = [
    "psychosis",
    "substance-use-disorder",
    "bipolar-depression",
    "raised-intracranial-pressure",
    "raised-intraocular-pressure",
    "sleep-apnoea",
    "hypertension",
    "cardiovascular-disease",
    "aneurysmal-vascular-disease",
    "arteriovenous-malformation",
    "intracerebral-haemorrhage",
    "bladder-disorder",
]
TRIALS = [
    {"drug": "sertraline", "dose_mg_per_day": 100, "duration_weeks": 8, "outcome": "no-response"},
    {"drug": "venlafaxine", "dose_mg_per_day": 150, "duration_weeks": 8, "outcome": "no-response"},
]


def complete(treatment: str = "racemic-iv-im", **changes: Any) -> dict[str, Any]:
    """A fully recorded patient with nothing of concern; ``changes`` replace fields."""
    base: dict[str, Any] = {
        "treatment": treatment,
        "age_years": 40,
        "sex": "F",
        "weight_kg": 70,
        "pregnant": False,
        "breastfeeding": False,
        "diagnoses": [{"condition": "mdd", "status": "active"}, {"condition": "trd"}],
        "ruled_out": list(RULED_OUT),
        "antidepressant_trials": TRIALS,
        "current_medications": [],
        "hypersensitivity_to_ketamine": False,
        "baseline_bp": {"systolic_mmhg": 120, "diastolic_mmhg": 80},
        "phq9_item9": 0,
        "cssrs_screener_risk": "low",
        "urinary_symptoms": False,
        "sleep_apnoea_risk": "low",
        "hepatic_impairment": "none",
    }
    base.update(changes)
    return base


def run(data: dict[str, Any], overrides: list[Override] | None = None) -> EligibilityDecision:
    return screen(ScreeningInput.model_validate(data), overrides or [])


def fired(decision: EligibilityDecision) -> dict[str, tuple[RuleClass, str]]:
    return {f.rule_id: (f.rule_class, f.status) for f in decision.findings if f.status != "met"}


def diagnosed(condition: str, status: str = "active") -> dict[str, Any]:
    ruled_out = [c for c in RULED_OUT if c != condition]
    if condition == "psychosis":
        # With psychosis on record, psychotic features of this depression must be ruled out
        # separately; ruling out psychosis no longer implies it.
        ruled_out.append("mdd-psychotic")
    return {
        "diagnoses": [{"condition": "mdd"}, {"condition": condition, "status": status}],
        "ruled_out": ruled_out,
    }


@pytest.mark.parametrize(
    "treatment", ["racemic-iv-im", "racemic-oral-sublingual", "esketamine-intranasal"]
)
def test_complete_record_with_nothing_found(treatment: str) -> None:
    decision = run(complete(treatment))
    findings = fired(decision)
    if treatment == "racemic-oral-sublingual":
        # The experimental route is always a condition of treatment.
        assert findings == {"experimental-route": (RuleClass.CAUTION, "present")}
        assert decision.decision is DecisionClass.ELIGIBLE_WITH_CONDITIONS
    else:
        assert findings == {}
        assert decision.decision is DecisionClass.ELIGIBLE


@pytest.mark.parametrize(
    ("treatment", "changes", "rule_id", "rule_class", "decision"),
    [
        # absolute contraindications
        ("esketamine-intranasal", diagnosed("intracerebral-haemorrhage", "historical"),
         "esketamine-vascular", RuleClass.ABSOLUTE, DecisionClass.NOT_ELIGIBLE),
        ("esketamine-intranasal", diagnosed("arteriovenous-malformation"),
         "esketamine-vascular", RuleClass.ABSOLUTE, DecisionClass.NOT_ELIGIBLE),
        ("racemic-iv-im", diagnosed("aneurysmal-vascular-disease"),
         "vascular-contraindication", RuleClass.ABSOLUTE, DecisionClass.NOT_ELIGIBLE),
        ("esketamine-intranasal", {"hypersensitivity_to_ketamine": True},
         "esketamine-hypersensitivity", RuleClass.ABSOLUTE, DecisionClass.NOT_ELIGIBLE),
        # relative contraindications
        ("racemic-iv-im", diagnosed("psychosis"), "psychosis-active", RuleClass.RELATIVE,
         DecisionClass.ELIGIBLE_WITH_CONDITIONS),
        ("racemic-iv-im", diagnosed("substance-use-disorder"), "substance-use-active",
         RuleClass.RELATIVE, DecisionClass.ELIGIBLE_WITH_CONDITIONS),
        ("racemic-iv-im", diagnosed("raised-intraocular-pressure"), "raised-icp-iop",
         RuleClass.RELATIVE, DecisionClass.ELIGIBLE_WITH_CONDITIONS),
        ("racemic-iv-im", diagnosed("cardiovascular-disease"), "cardiovascular-disease",
         RuleClass.RELATIVE, DecisionClass.ELIGIBLE_WITH_CONDITIONS),
        ("racemic-iv-im", {"hepatic_impairment": "severe"}, "hepatic-severe", RuleClass.RELATIVE,
         DecisionClass.ELIGIBLE_WITH_CONDITIONS),
        ("esketamine-intranasal", {"pregnant": True}, "esketamine-pregnancy", RuleClass.RELATIVE,
         DecisionClass.ELIGIBLE_WITH_CONDITIONS),
        ("racemic-iv-im", {"breastfeeding": True}, "breastfeeding", RuleClass.RELATIVE,
         DecisionClass.ELIGIBLE_WITH_CONDITIONS),
        ("esketamine-intranasal", {"baseline_bp": {"systolic_mmhg": 141, "diastolic_mmhg": 80}},
         "esketamine-bp-gate", RuleClass.RELATIVE, DecisionClass.ELIGIBLE_WITH_CONDITIONS),
        ("racemic-iv-im", {"baseline_bp": {"systolic_mmhg": 130, "diastolic_mmhg": 91}},
         "bp-gate", RuleClass.RELATIVE, DecisionClass.ELIGIBLE_WITH_CONDITIONS),
        # cautions
        ("racemic-iv-im", diagnosed("psychosis", "historical"), "psychosis-history",
         RuleClass.CAUTION, DecisionClass.ELIGIBLE_WITH_CONDITIONS),
        ("racemic-iv-im", diagnosed("substance-use-disorder", "in-remission"),
         "substance-use-history", RuleClass.CAUTION, DecisionClass.ELIGIBLE_WITH_CONDITIONS),
        ("racemic-iv-im", {"current_medications": [{"name": "Xanax"}]}, "cns-depressants",
         RuleClass.CAUTION, DecisionClass.ELIGIBLE_WITH_CONDITIONS),
        ("racemic-iv-im", {"current_medications": [{"name": "oxycodone"}]}, "opioids",
         RuleClass.CAUTION, DecisionClass.ELIGIBLE_WITH_CONDITIONS),
        ("racemic-iv-im", {"current_medications": [{"name": "Adderall"}]}, "stimulants-maoi",
         RuleClass.CAUTION, DecisionClass.ELIGIBLE_WITH_CONDITIONS),
        ("esketamine-intranasal", {"current_medications": [{"classes": ["maoi"]}]},
         "stimulants-maoi", RuleClass.CAUTION, DecisionClass.ELIGIBLE_WITH_CONDITIONS),
        ("racemic-iv-im", {"current_medications": [{"name": "Lamictal 100 mg"}]}, "lamotrigine",
         RuleClass.CAUTION, DecisionClass.ELIGIBLE_WITH_CONDITIONS),
        ("racemic-iv-im", {"phq9_item9": 2}, "suicide-phq9-item9", RuleClass.CAUTION,
         DecisionClass.ELIGIBLE_WITH_CONDITIONS),
        ("esketamine-intranasal", {"cssrs_screener_risk": "high"}, "suicide-cssrs",
         RuleClass.CAUTION, DecisionClass.ELIGIBLE_WITH_CONDITIONS),
        ("racemic-iv-im", {"urinary_symptoms": True}, "urinary-symptoms", RuleClass.CAUTION,
         DecisionClass.ELIGIBLE_WITH_CONDITIONS),
        ("racemic-iv-im", {"sleep_apnoea_risk": "high"}, "sleep-apnoea", RuleClass.CAUTION,
         DecisionClass.ELIGIBLE_WITH_CONDITIONS),
        ("esketamine-intranasal", {"age_years": 65}, "esketamine-65-and-over", RuleClass.CAUTION,
         DecisionClass.ELIGIBLE_WITH_CONDITIONS),
        # inclusion criteria not met
        ("esketamine-intranasal", {"age_years": 17}, "esketamine-adult", RuleClass.INCLUSION,
         DecisionClass.NOT_ELIGIBLE),
        ("racemic-iv-im", {"age_years": 16}, "adult", RuleClass.INCLUSION,
         DecisionClass.NOT_ELIGIBLE),
        ("racemic-iv-im", {"antidepressant_trials": TRIALS[:1]}, "treatment-resistance",
         RuleClass.INCLUSION, DecisionClass.NOT_ELIGIBLE),
        # missing information
        ("racemic-iv-im", {"weight_kg": None}, "weight-recorded", RuleClass.MISSING_INFORMATION,
         DecisionClass.MORE_INFORMATION_NEEDED),
    ],
)  # fmt: skip
def test_rule_fires_with_its_class(
    treatment: str,
    changes: dict[str, Any],
    rule_id: str,
    rule_class: RuleClass,
    decision: DecisionClass,
) -> None:
    result = run(complete(treatment, **changes))
    findings = fired(result)
    assert rule_id in findings, findings
    assert findings[rule_id][0] is rule_class
    assert result.decision is decision
    finding = next(f for f in result.findings if f.rule_id == rule_id)
    assert finding.reason
    assert finding.action
    assert finding.citation


def test_suicide_risk_routes_to_same_day_assessment_not_exclusion() -> None:
    result = run(complete("esketamine-intranasal", phq9_item9=3, cssrs_screener_risk="high"))
    assert result.decision is DecisionClass.ELIGIBLE_WITH_CONDITIONS
    actions = [f.action for f in result.findings if f.rule_id.startswith("suicide")]
    assert len(actions) == 2
    assert all("Same-day" in action for action in actions)


@pytest.mark.parametrize(
    ("field", "rule_id"),
    [
        ("current_medications", "cns-depressants"),
        ("baseline_bp", "bp-gate"),
        ("phq9_item9", "suicide-phq9-item9"),
        ("cssrs_screener_risk", "suicide-cssrs"),
        ("hypersensitivity_to_ketamine", "hypersensitivity"),
        ("pregnant", "pregnancy"),
        ("antidepressant_trials", "treatment-resistance"),
        ("age_years", "adult"),
        ("hepatic_impairment", "hepatic-severe"),
    ],
)
def test_a_missing_fact_is_reported_missing_never_absent(field: str, rule_id: str) -> None:
    data = complete()
    data[field] = None
    result = run(data)
    finding = next(f for f in result.findings if f.rule_id == rule_id)
    assert finding.rule_class is RuleClass.MISSING_INFORMATION
    assert finding.status == "unknown"
    assert finding.missing
    assert result.decision is DecisionClass.MORE_INFORMATION_NEEDED


def test_unrecorded_condition_is_unknown_and_ruled_out_psychosis_covers_psychotic_depression() -> (
    None
):
    unrecorded = run(complete(ruled_out=[c for c in RULED_OUT if c != "cardiovascular-disease"]))
    finding = next(f for f in unrecorded.findings if f.rule_id == "cardiovascular-disease")
    assert finding.status == "unknown"
    assert "psychosis-active" in run(complete()).checked_absent


def test_pregnancy_questions_do_not_apply_to_men() -> None:
    result = run(complete(sex="M", pregnant=None, breastfeeding=None))
    assert result.decision is DecisionClass.ELIGIBLE


def test_unclassified_medicine_is_missing_information() -> None:
    result = run(complete(current_medications=[{"name": "herbal tonic"}]))
    finding = next(f for f in result.findings if f.rule_id == "cns-depressants")
    assert finding.status == "unknown"
    assert "herbal tonic" in finding.reason
    # A known hit elsewhere in the list still fires even if another medicine is unclassified.
    both = run(complete(current_medications=[{"name": "herbal tonic"}, {"name": "diazepam"}]))
    assert fired(both)["cns-depressants"] == (RuleClass.CAUTION, "present")


def test_treatment_resistance_shows_the_count() -> None:
    trials = [
        *TRIALS,
        {"drug": "Prozac", "dose_mg_per_day": 20, "duration_weeks": 4, "outcome": "no-response"},
    ]
    result = run(complete(antidepressant_trials=trials))
    finding = next(f for f in result.findings if f.rule_id == "treatment-resistance")
    assert finding.status == "met"
    assert "2 adequate failed antidepressant trial(s): sertraline, venlafaxine" in finding.reason


def test_trial_with_missing_dose_that_could_decide_is_missing_information() -> None:
    trials = [TRIALS[0], {"drug": "venlafaxine", "duration_weeks": 8, "outcome": "no-response"}]
    finding = next(
        f
        for f in run(complete(antidepressant_trials=trials)).findings
        if f.rule_id == "treatment-resistance"
    )
    assert finding.status == "unknown"
    assert any("venlafaxine" in m for m in finding.missing)


def test_esketamine_suicidal_ideation_indication_without_trd() -> None:
    data = complete("esketamine-intranasal", antidepressant_trials=[])
    data["diagnoses"] = [{"condition": "mdd"}, {"condition": "suicidal-ideation"}]
    result = run(data)
    assert fired(result) == {}
    assert result.decision is DecisionClass.ELIGIBLE


def test_absolute_contraindication_blocks_plan_until_overridden() -> None:
    data = complete("esketamine-intranasal", **diagnosed("arteriovenous-malformation"))
    blocked = run(data)
    with pytest.raises(OverrideRequired) as refused:
        blocked.require_plan_allowed()
    assert refused.value.rule_ids == ["esketamine-vascular"]

    override = Override.create(
        rule_ids=["esketamine-vascular"],
        reason="AVM embolised 2019; neurosurgery clearance on file.",
        prescriber_id="dr-okafor",
        overridden_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
    )
    allowed = run(data, [override])
    allowed.require_plan_allowed()
    assert allowed.decision is DecisionClass.ELIGIBLE_WITH_CONDITIONS
    assert allowed.overrides == (override,)
    finding = next(f for f in allowed.findings if f.rule_id == "esketamine-vascular")
    assert finding.status == "present"
    assert finding.override == override
    assert "overridden" in allowed.summary


def test_override_of_another_rule_does_not_unblock() -> None:
    data = complete("esketamine-intranasal", hypersensitivity_to_ketamine=True)
    override = Override.create(
        rule_ids=["esketamine-vascular"],
        reason="unrelated",
        prescriber_id="dr",
        overridden_at=datetime(2026, 3, 2, tzinfo=UTC),
    )
    result = run(data, [override])
    assert result.decision is DecisionClass.NOT_ELIGIBLE
    assert result.overrides == ()


def test_findings_are_listed_most_serious_first() -> None:
    data = complete(
        "esketamine-intranasal",
        hypersensitivity_to_ketamine=True,
        phq9_item9=1,
        hepatic_impairment=None,
    )
    order = [f.rule_class for f in run(data).findings if f.status != "met"]
    assert order[0] is RuleClass.ABSOLUTE
    assert order[-1] is RuleClass.MISSING_INFORMATION


def test_psychotic_depression_cannot_coexist_with_psychosis_ruled_out() -> None:
    data = complete()
    data["diagnoses"] = [{"condition": "mdd-psychotic"}]
    with pytest.raises(ValueError, match="mdd-psychotic"):
        ScreeningInput.model_validate(data)
