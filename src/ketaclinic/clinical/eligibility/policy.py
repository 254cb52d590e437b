"""The clinic policy values screening reads, and what the rules need to know while they run.

Screening does not keep its own copy of a threshold the clinic configures elsewhere: the
pre-dose blood-pressure gate, the PHQ-9 item 9 cut, the blood pressure at which the clinic
intervenes (used here for uncontrolled hypertension) and the maximum age of a measurement all come
from the clinic policy (``clinic_policy.yaml`` plus the clinic's overrides). A screening rule set
covers several protocol kinds (IV and IM); where their policies differ, screening uses the
stricter value, so a clinic's tighter setting for one route is never missed.

The policy a decision used is stored with it, so an override's re-decision is judged the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from pydantic import BaseModel, ConfigDict

from ketaclinic.clinical.eligibility.screening_input import Treatment
from ketaclinic.clinical.policy import (
    EffectivePolicy,
    ProtocolKind,
    default_policy,
    policy_file,
)

TREATMENT_KINDS: dict[Treatment, tuple[ProtocolKind, ...]] = {
    Treatment.RACEMIC_IV_IM: (ProtocolKind.IV_RACEMIC, ProtocolKind.IM_RACEMIC),
    Treatment.RACEMIC_ORAL_SUBLINGUAL: (
        ProtocolKind.ORAL_RACEMIC,
        ProtocolKind.SUBLINGUAL_RACEMIC,
    ),
    Treatment.ESKETAMINE_INTRANASAL: (ProtocolKind.INTRANASAL_ESKETAMINE,),
}
# Facts whose measurement may be too old to use, and the clinic-policy maximum age of each.
DATED_FACTS: dict[str, str] = {
    "baseline_bp": "screening_bp_max_age_days",
    "weight_kg": "weight_max_age_days",
    "phq9_item9": "phq9_max_age_days",
}
_READ = (
    "predose_bp_gate_systolic_mmhg",
    "predose_bp_gate_diastolic_mmhg",
    "intervention_systolic_mmhg",
    "intervention_diastolic_mmhg",
    "phq9_item9_positive_at_or_above",
    *DATED_FACTS.values(),
)


class ScreeningPolicy(BaseModel):
    """The clinic policy values one screening used, each with its source."""

    model_config = ConfigDict(frozen=True)

    values: dict[str, float | None]
    sources: dict[str, str]
    # Rule id -> the class the clinic chose where the rule's sources differ (class_options).
    rule_classes: dict[str, str] = {}

    def number(self, parameter_id: str) -> float | None:
        return self.values.get(parameter_id)

    def max_age_days(self, fact: str) -> int | None:
        value = self.values.get(DATED_FACTS[fact])
        return None if value is None else int(value)


def screening_policy(
    policies: Sequence[EffectivePolicy], rule_classes: Mapping[str, str] | None = None
) -> ScreeningPolicy:
    """The values screening reads from the policies of the kinds a rule set covers (strictest)."""
    stricter = {p.id: p.stricter for p in policy_file().parameters}
    values: dict[str, float | None] = {}
    sources: dict[str, str] = {}
    for parameter_id in _READ:
        found = [
            (p.get(parameter_id), p.source(parameter_id).short(), p.values[parameter_id].overridden)
            for p in policies
            if p.get(parameter_id) is not None
        ]
        if not found:
            values[parameter_id] = None
            continue
        pick = min if stricter[parameter_id] == "lower" else max
        value, source, overridden = pick(found, key=lambda item: item[0] or 0.0)
        values[parameter_id] = value
        sources[parameter_id] = "clinic policy (set by the clinic)" if overridden else source
    return ScreeningPolicy(values=values, sources=sources, rule_classes=dict(rule_classes or {}))


def default_screening_policy(treatment: Treatment) -> ScreeningPolicy:
    """The sourced defaults, for screening without a clinic database (``ketaclinic screen``)."""
    return screening_policy([default_policy(kind) for kind in TREATMENT_KINDS[treatment]])


@dataclass(frozen=True)
class RuleContext:
    """What a rule may consult besides the facts: the policy, fact dates, facts too old to use."""

    policy: ScreeningPolicy
    measured_on: Mapping[str, date] = field(default_factory=dict)
    stale: Mapping[str, str] = field(default_factory=dict)

    def missing(self, fact: str, text: str) -> str:
        """How to name a missing fact: with why it is missing when it was too old."""
        note = self.stale.get(fact)
        return f"{text} ({note})" if note else text

    def dated(self, fact: str, text: str) -> str:
        """A finding detail with the date the fact was measured, where known."""
        when = self.measured_on.get(fact)
        return f"{text}, measured {when.isoformat()}" if when else text
