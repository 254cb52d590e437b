"""The outcome definitions a clinic chooses: which pre-treatment score is the baseline, and which
cited remission cut-off and relapse rule an instrument uses where sources differ.

The options and their sources live in ``outcomes.yaml``; the clinic's starting choices in the
``outcome_options`` section of ``clinic_policy.yaml``; an administrator's later choices are stored
by ``services.outcome_policy``. Every place that judges an outcome (the chart, the portal, the
progress report, cohort analytics) takes the resulting :class:`OutcomePolicy`, so "remission"
means the same thing on every page of one clinic. Pure: validation only, no storage.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import get_args

from pydantic import BaseModel, ConfigDict, Field

from ketaclinic.clinical.knowledge import Source, load_knowledge
from ketaclinic.clinical.outcomes import (
    BaselineRule,
    OutcomePolicy,
    all_outcome_rules,
    outcome_defaults,
)
from ketaclinic.clinical.questionnaires import get_instrument
from ketaclinic.errors import ConfigurationError, InvalidInput

BASELINE_SETTING = "baseline"
_BASELINE_LABELS: dict[str, str] = {
    "last_on_or_before_start": "the last score on or before the first treatment day",
    "first_on_or_before_start": "the first score on or before the first treatment day",
    "first_recorded": "the first score ever recorded",
}


class OutcomeOptionsSection(BaseModel):
    """The ``outcome_options`` section of clinic_policy.yaml: the clinic's starting choices.

    ``baseline`` is a baseline rule; ``remission`` and ``relapse`` map an instrument id to one of
    its option ids in outcomes.yaml. Null or an instrument left out keeps outcomes.yaml's default.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    baseline: BaselineRule | None = None
    remission: dict[str, str] = Field(default_factory=dict)
    relapse: dict[str, str] = Field(default_factory=dict)


class _PolicyFileView(BaseModel):
    """Only the outcome section of clinic_policy.yaml (the rest is read by clinical.policy)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    outcome_options: OutcomeOptionsSection = OutcomeOptionsSection()


class OutcomeChoice(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    label: str
    source: Source | None = None


class OutcomeSetting(BaseModel):
    """One choice a clinic makes: ``baseline``, ``remission.<instrument>`` or
    ``relapse.<instrument>``, with the cited choices and the data file's default."""

    model_config = ConfigDict(frozen=True)

    id: str
    label: str
    description: str
    default: str
    choices: tuple[OutcomeChoice, ...]

    def choice(self, choice_id: str) -> OutcomeChoice:
        for choice in self.choices:
            if choice.id == choice_id:
                return choice
        allowed = ", ".join(c.id for c in self.choices)
        raise InvalidInput(
            f"{self.label}: {choice_id!r} is not one of the cited choices ({allowed}).",
            field=self.id,
        )


def _op_text(op: str, value: float) -> str:
    words = {"<": "below", "<=": "at most", ">": "above", ">=": "at least", "==": "exactly"}
    return f"total {words[op]} {value:g}"


@cache
def outcome_settings() -> tuple[OutcomeSetting, ...]:
    """Every outcome definition with more than one choice: the baseline rule, then remission and
    relapse for each instrument whose sources differ (e.g. MADRS remission <= 10 or <= 12)."""
    defaults = outcome_defaults()
    settings = [
        OutcomeSetting(
            id=BASELINE_SETTING,
            label="Baseline score",
            description="Which score before the first treatment change, response and remission "
            "are measured from.",
            default=defaults.baseline,
            choices=tuple(
                OutcomeChoice(
                    id=rule,
                    label=_BASELINE_LABELS[rule],
                    source=defaults.baseline_source if rule == defaults.baseline else None,
                )
                for rule in get_args(BaselineRule)
            ),
        )
    ]
    for rules in all_outcome_rules():
        name = get_instrument(rules.id).short_name
        if len(rules.remission.options) > 1:
            settings.append(
                OutcomeSetting(
                    id=f"remission.{rules.id}",
                    label=f"{name} remission",
                    description=f"The {name} total that counts as remission.",
                    default=rules.remission.default,
                    choices=tuple(
                        OutcomeChoice(id=o.id, label=_op_text(o.op, o.value), source=o.source)
                        for o in rules.remission.options
                    ),
                )
            )
        if len(rules.relapse.options) > 1:
            settings.append(
                OutcomeSetting(
                    id=f"relapse.{rules.id}",
                    label=f"{name} relapse",
                    description=f"What counts as relapse on the {name} after a response.",
                    default=rules.relapse.default,
                    choices=tuple(
                        OutcomeChoice(id=o.id, label=o.source.citation, source=o.source)
                        for o in rules.relapse.options
                    ),
                )
            )
    return tuple(settings)


def outcome_setting(setting_id: str) -> OutcomeSetting:
    """One setting by id; InvalidInput listing the known settings otherwise."""
    for setting in outcome_settings():
        if setting.id == setting_id:
            return setting
    known = ", ".join(s.id for s in outcome_settings())
    raise InvalidInput(
        f"Unknown outcome setting {setting_id!r}; the settings are {known}.", field="setting_id"
    )


def starting_choices() -> dict[str, str]:
    """The clinic's starting choices from clinic_policy.yaml, keyed by setting id (validated)."""
    section = load_knowledge("ketaclinic.clinical", "clinic_policy.yaml", _PolicyFileView)
    choices: dict[str, str] = {}
    if section.outcome_options.baseline is not None:
        choices[BASELINE_SETTING] = section.outcome_options.baseline
    for kind, chosen in (
        ("remission", section.outcome_options.remission),
        ("relapse", section.outcome_options.relapse),
    ):
        choices.update({f"{kind}.{instrument}": option for instrument, option in chosen.items()})
    for setting_id, choice in choices.items():
        try:
            outcome_setting(setting_id).choice(choice)
        except InvalidInput as exc:
            # A wrong starting choice is an installation error, not a user's bad input.
            raise ConfigurationError(
                f"clinic_policy.yaml outcome_options: {exc.message}", field=exc.field
            ) from None
    return choices


def outcome_policy(choices: Mapping[str, str] | None = None) -> OutcomePolicy:
    """The OutcomePolicy for a clinic: the starting choices, then ``choices`` over them (each
    checked against the cited options; an unknown setting or choice is refused by name)."""
    merged = {**starting_choices(), **dict(choices or {})}
    for setting_id, choice in merged.items():
        outcome_setting(setting_id).choice(choice)
    remission: dict[str, str] = {}
    relapse: dict[str, str] = {}
    baseline: BaselineRule | None = None
    for setting_id, choice in merged.items():
        kind, _, instrument = setting_id.partition(".")
        if setting_id == BASELINE_SETTING:
            baseline = next(rule for rule in get_args(BaselineRule) if rule == choice)
        elif kind == "remission":
            remission[instrument] = choice
        else:
            relapse[instrument] = choice
    return OutcomePolicy(baseline=baseline, remission=remission, relapse=relapse)


def chosen(policy: OutcomePolicy, setting: OutcomeSetting) -> str:
    """The choice in force for one setting under ``policy`` (the default where it says none)."""
    if setting.id == BASELINE_SETTING:
        return policy.baseline or setting.default
    kind, _, instrument = setting.id.partition(".")
    mapping = policy.remission if kind == "remission" else policy.relapse
    return mapping.get(instrument, setting.default)
