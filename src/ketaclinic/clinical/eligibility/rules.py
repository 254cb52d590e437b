"""Screening rules as data: one YAML rule set per treatment, plus rules common to all."""

from __future__ import annotations

from enum import StrEnum
from functools import cache

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ketaclinic.clinical.eligibility.conditions import Condition
from ketaclinic.clinical.eligibility.screening_input import Treatment
from ketaclinic.clinical.knowledge import Source, load_knowledge
from ketaclinic.errors import ConfigurationError


class RuleClass(StrEnum):
    ABSOLUTE = "absolute-contraindication"
    RELATIVE = "relative-contraindication"
    CAUTION = "caution"
    INCLUSION = "inclusion"
    MISSING_INFORMATION = "missing-information"


class ClassOption(BaseModel):
    """One source's class for a rule where sources differ; the clinic chooses among them."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    rule_class: RuleClass = Field(alias="class")
    source: Source


class Rule(BaseModel):
    """One screening rule.

    For an ``inclusion`` rule, ``when`` is the requirement: the finding is *met* or *not met*.
    For every other class, ``when`` describes the risk: the finding fires when it holds.
    Either way, a condition that cannot be evaluated yields a missing-information finding.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str = Field(pattern=r"^[a-z0-9-]+$")
    rule_class: RuleClass = Field(alias="class")
    title: str
    explanation: str = Field(description="Why the rule exists, in plain words.")
    action: str = Field(description="What the prescriber or nurse should do when it fires.")
    when: Condition
    missing_action: str | None = None
    source: Source
    # Where sources give the rule different classes: each with its source. ``class`` (with
    # ``source``) is the default; a clinic may choose another option (a clinic setting).
    class_options: tuple[ClassOption, ...] = ()

    @model_validator(mode="after")
    def _default_is_an_option(self) -> Rule:
        if self.class_options and self.rule_class not in {o.rule_class for o in self.class_options}:
            raise ValueError(f"{self.id}: its class must be one of its class_options")
        return self

    def option(self, chosen: str | None) -> ClassOption | None:
        """The class option a clinic chose (None: the rule's default class and source)."""
        return next((o for o in self.class_options if o.rule_class.value == chosen), None)


class RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    treatment: Treatment | None = None
    protocols: tuple[str, ...] = ()
    includes: tuple[str, ...] = ()
    rules: tuple[Rule, ...]
    source: Source


class RuleSet(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    treatment: Treatment
    protocols: tuple[str, ...]
    rules: tuple[Rule, ...]


_PACKAGE = "ketaclinic.clinical"


def _load(name: str) -> RuleFile:
    return load_knowledge(_PACKAGE, f"eligibility/{name}", RuleFile)


@cache
def rule_set_for(treatment: Treatment) -> RuleSet:
    main = _load(f"{treatment.value}.yaml")
    if main.treatment is not treatment:
        raise ConfigurationError(f"eligibility/{treatment.value}.yaml declares another treatment.")
    rules = [rule for include in main.includes for rule in _load(include).rules]
    rules += main.rules
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise ConfigurationError(f"Screening rule id '{rule.id}' appears twice in {main.id}.")
        seen.add(rule.id)
    return RuleSet(
        id=main.id,
        name=main.name,
        treatment=treatment,
        protocols=main.protocols,
        rules=tuple(rules),
    )


def all_rule_sets() -> tuple[RuleSet, ...]:
    return tuple(rule_set_for(treatment) for treatment in Treatment)
