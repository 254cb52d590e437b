"""Screening: evaluate a rule set against what is known and reach a decision.

Decision order (most serious first):
- ``not-eligible``: an absolute contraindication present, or an inclusion criterion not met,
  that no prescriber override covers;
- ``more-information-needed``: otherwise, if any rule could not be checked for a missing fact;
- ``eligible-with-conditions``: otherwise, if any relative contraindication or caution fired, or
  an override was used (the override is itself a condition of treatment);
- ``eligible``: every rule checked and none fired.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ketaclinic import CLINICAL_DISCLAIMER
from ketaclinic.clinical.eligibility.policy import (
    DATED_FACTS,
    RuleContext,
    ScreeningPolicy,
    default_screening_policy,
)
from ketaclinic.clinical.eligibility.rules import Rule, RuleClass, rule_set_for
from ketaclinic.clinical.eligibility.screening_input import ScreeningInput
from ketaclinic.clinical.overrides import Override, override_for
from ketaclinic.errors import OverrideRequired


class DecisionClass(StrEnum):
    ELIGIBLE = "eligible"
    ELIGIBLE_WITH_CONDITIONS = "eligible-with-conditions"
    NOT_ELIGIBLE = "not-eligible"
    MORE_INFORMATION_NEEDED = "more-information-needed"


FindingStatus = Literal["present", "met", "not-met", "unknown"]
# Order in which findings are listed: what blocks first, reassurance last.
_SEVERITY = {
    RuleClass.ABSOLUTE: 0,
    RuleClass.INCLUSION: 1,
    RuleClass.RELATIVE: 2,
    RuleClass.CAUTION: 3,
    RuleClass.MISSING_INFORMATION: 4,
}


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    rule_id: str
    rule_class: RuleClass
    status: FindingStatus
    title: str
    reason: str
    action: str
    citation: str
    verified: bool
    missing: tuple[str, ...] = ()
    override: Override | None = None

    @property
    def blocks(self) -> bool:
        """An absolute contraindication or unmet inclusion that no override covers."""
        blocking = (self.rule_class is RuleClass.ABSOLUTE and self.status == "present") or (
            self.rule_class is RuleClass.INCLUSION and self.status == "not-met"
        )
        return blocking and self.override is None


class EligibilityDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    patient_ref: str | None
    treatment: str
    rule_set: str
    decision: DecisionClass
    summary: str
    findings: tuple[Finding, ...]
    checked_absent: tuple[str, ...]
    overrides: tuple[Override, ...]
    # The clinic policy values the rules read (gate, cuts, maximum ages), kept with the decision.
    policy: ScreeningPolicy | None = None
    notice: str = CLINICAL_DISCLAIMER

    @property
    def blocking_rule_ids(self) -> list[str]:
        return [f.rule_id for f in self.findings if f.blocks]

    def require_plan_allowed(self) -> None:
        """Refuse a treatment plan while a contraindication blocks it (overridable)."""
        blocking = self.blocking_rule_ids
        if blocking:
            raise OverrideRequired(
                "A treatment plan is blocked by: "
                + "; ".join(f.title for f in self.findings if f.blocks)
                + ". A prescriber may override with a written reason.",
                rule_ids=blocking,
            )


def _finding(
    rule: Rule, facts: ScreeningInput, overrides: Sequence[Override], ctx: RuleContext
) -> Finding | None:
    verdict = rule.when.evaluate(facts, ctx)
    details = "; ".join(verdict.details)
    chosen = rule.option(ctx.policy.rule_classes.get(rule.id))
    rule_class = rule.rule_class if chosen is None else chosen.rule_class
    source = rule.source if chosen is None else chosen.source
    common = {
        "rule_id": rule.id,
        "title": rule.title,
        "citation": source.short()
        + ("; class chosen by the clinic where sources differ" if chosen else ""),
        "verified": source.verified,
    }
    if verdict.value is None:
        missing = verdict.missing or ("a fact this rule needs",)
        return Finding(
            **common,
            rule_class=RuleClass.MISSING_INFORMATION,
            status="unknown",
            reason=f"Cannot check '{rule.title}': not recorded: {'; '.join(missing)}."
            + (f" ({details})" if details else ""),
            action=rule.missing_action or f"Record {'; '.join(missing)}, then screen again.",
            missing=missing,
        )
    if rule_class is RuleClass.INCLUSION:
        status: FindingStatus = "met" if verdict.value else "not-met"
    elif verdict.value:
        status = "present"
    else:
        return None
    override = override_for(rule.id, overrides) if status in ("present", "not-met") else None
    reason = rule.explanation + (f" Found: {details}." if details else "")
    return Finding(
        **common,
        rule_class=rule_class,
        status=status,
        reason=reason,
        action=rule.action,
        override=override,
    )


def _needs_information(finding: Finding) -> bool:
    return finding.status == "unknown" or finding.rule_class is RuleClass.MISSING_INFORMATION


def _decide(findings: Sequence[Finding]) -> DecisionClass:
    if any(f.blocks for f in findings):
        return DecisionClass.NOT_ELIGIBLE
    if any(_needs_information(f) for f in findings):
        return DecisionClass.MORE_INFORMATION_NEEDED
    conditional = any(
        f.override is not None
        or (f.status == "present" and f.rule_class is not RuleClass.INCLUSION)
        for f in findings
    )
    return DecisionClass.ELIGIBLE_WITH_CONDITIONS if conditional else DecisionClass.ELIGIBLE


def _summary(decision: DecisionClass, findings: Sequence[Finding]) -> str:
    counts: dict[str, int] = {}
    for f in findings:
        if f.status != "met":
            label = "inclusion not met" if f.status == "not-met" else f.rule_class.value
            counts[label] = counts.get(label, 0) + 1
    parts = ", ".join(f"{n} {name}" for name, n in counts.items()) or "no concerns found"
    overridden = sum(1 for f in findings if f.override is not None)
    tail = f"; {overridden} overridden by a prescriber" if overridden else ""
    return f"{decision.value}: {parts}{tail}."


def _too_old(
    facts: ScreeningInput, policy: ScreeningPolicy
) -> tuple[ScreeningInput, dict[str, str], dict[str, date]]:
    """Facts measured longer ago than the clinic policy allows count as missing, with why."""
    dates = facts.measured_on
    measured = {} if dates is None else dates.model_dump(exclude_none=True)
    stale: dict[str, str] = {}
    if facts.screened_on is not None:
        for fact in DATED_FACTS:
            when, limit = measured.get(fact), policy.max_age_days(fact)
            if when is None or limit is None or getattr(facts, fact) is None:
                continue
            age = (facts.screened_on - when).days
            if age > limit:
                stale[fact] = (
                    f"the latest, of {when.isoformat()}, is {age} days old and the clinic "
                    f"policy accepts {limit}: measure again"
                )
    usable = facts.model_copy(update=dict.fromkeys(stale)) if stale else facts
    return usable, stale, measured


def screen(
    facts: ScreeningInput,
    overrides: Sequence[Override] = (),
    policy: ScreeningPolicy | None = None,
) -> EligibilityDecision:
    """Apply the treatment's rule set; overrides cover the rule ids they name.

    ``policy`` holds the clinic's values the rules read (the service passes the clinic's; without
    one, the sourced defaults of ``clinic_policy.yaml`` apply).
    """
    rule_set = rule_set_for(facts.treatment)
    policy = policy or default_screening_policy(facts.treatment)
    usable, stale, measured = _too_old(facts, policy)
    ctx = RuleContext(policy=policy, measured_on=measured, stale=stale)
    findings: list[Finding] = []
    absent: list[str] = []
    for rule in rule_set.rules:
        finding = _finding(rule, usable, overrides, ctx)
        if finding is None:
            absent.append(rule.id)
        else:
            findings.append(finding)
    findings.sort(key=lambda f: (_SEVERITY[f.rule_class], f.status == "met"))
    decision = _decide(findings)
    used = tuple(dict.fromkeys(f.override for f in findings if f.override is not None))
    return EligibilityDecision(
        patient_ref=facts.patient_ref,
        treatment=facts.treatment.value,
        rule_set=rule_set.id,
        decision=decision,
        summary=_summary(decision, findings),
        findings=tuple(findings),
        checked_absent=tuple(absent),
        overrides=used,
        policy=policy,
    )
