"""Eligibility screening: cited rules per treatment, evaluated on what is known, to a decision."""

from __future__ import annotations

from ketaclinic.clinical.eligibility.engine import (
    DecisionClass,
    EligibilityDecision,
    Finding,
    screen,
)
from ketaclinic.clinical.eligibility.rules import (
    Rule,
    RuleClass,
    RuleSet,
    all_rule_sets,
    rule_set_for,
)
from ketaclinic.clinical.eligibility.screening_input import (
    BloodPressure,
    CurrentMedication,
    Diagnosis,
    ScreeningInput,
    Treatment,
)

__all__ = [
    "BloodPressure",
    "CurrentMedication",
    "DecisionClass",
    "Diagnosis",
    "EligibilityDecision",
    "Finding",
    "Rule",
    "RuleClass",
    "RuleSet",
    "ScreeningInput",
    "Treatment",
    "all_rule_sets",
    "rule_set_for",
    "screen",
]
