"""The rule-set data: loads, covers what the issue asks, points at real protocols."""

from __future__ import annotations

from ketaclinic.clinical.eligibility import RuleClass, Treatment, all_rule_sets, rule_set_for
from ketaclinic.clinical.protocols import all_protocols


def test_one_rule_set_per_treatment_and_protocols_exist() -> None:
    protocol_ids = {p.id for p in all_protocols()}
    covered: set[str] = set()
    for rule_set in all_rule_sets():
        assert rule_set.protocols
        assert set(rule_set.protocols) <= protocol_ids
        covered |= set(rule_set.protocols)
    # Every protocol is screened by some rule set.
    assert covered == protocol_ids


def test_every_class_is_used_and_every_rule_is_cited() -> None:
    classes = {rule.rule_class for rs in all_rule_sets() for rule in rs.rules}
    assert classes == set(RuleClass)
    for rule_set in all_rule_sets():
        for rule in rule_set.rules:
            assert rule.source.citation
            assert rule.explanation
            assert rule.action


def test_esketamine_label_contraindications_are_absolute() -> None:
    rules = {r.id: r for r in rule_set_for(Treatment.ESKETAMINE_INTRANASAL).rules}
    assert rules["esketamine-vascular"].rule_class is RuleClass.ABSOLUTE
    assert rules["esketamine-hypersensitivity"].rule_class is RuleClass.ABSOLUTE
    assert rules["esketamine-vascular"].source.verified


def test_suicide_rules_are_cautions_never_exclusions() -> None:
    for rule_set in all_rule_sets():
        suicide = [r for r in rule_set.rules if r.id.startswith("suicide")]
        assert len(suicide) == 2
        assert all(r.rule_class is RuleClass.CAUTION for r in suicide)


def test_issue_topics_are_all_covered() -> None:
    ids = {r.id for r in rule_set_for(Treatment.RACEMIC_IV_IM).rules}
    expected = {
        "indication-depression", "treatment-resistance", "psychosis-active", "psychosis-history",
        "substance-use-active", "substance-use-history", "bp-gate", "cardiovascular-disease",
        "vascular-contraindication", "hypersensitivity", "raised-icp-iop", "pregnancy",
        "breastfeeding", "hepatic-severe", "sleep-apnoea", "cns-depressants", "opioids",
        "stimulants-maoi", "lamotrigine", "suicide-phq9-item9", "suicide-cssrs",
        "urinary-symptoms", "adult",
    }  # fmt: skip
    assert expected <= ids
