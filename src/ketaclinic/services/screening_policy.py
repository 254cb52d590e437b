"""The clinic policy screening applies: thresholds from the clinic policy, rule classes by choice.

Screening reads the pre-dose blood-pressure gate, the PHQ-9 item 9 cut, the intervention blood
pressure and the maximum age of measurements from the clinic policy in force (``services.policy``),
so changing one there changes screening too. Where the sources of a rule give it different
classes (uncontrolled hypertension: contraindicated on the ketamine anaesthetic label, relative in
the pain guideline) the clinic chooses one; the choice is stored like a protocol setting (scope
``screening``), with who, when and why, and audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from ketaclinic.clinical.eligibility import Rule, Treatment, all_rule_sets
from ketaclinic.clinical.eligibility.policy import (
    TREATMENT_KINDS,
    ScreeningPolicy,
    screening_policy,
)
from ketaclinic.errors import InvalidInput, PermissionDenied
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import RequestContext
from ketaclinic.services.policy import clinic_policy
from ketaclinic.services.protocol_settings import SettingChange, setting_history, stored_settings
from ketaclinic.storage.database import atomic
from ketaclinic.storage.tables.planning import ClinicSettingChangeRow

SCOPE = "screening"
_PREFIX = "rule_class."
_MAY_CHANGE = frozenset({"administrator", "system"})


def configurable_rules() -> dict[str, Rule]:
    """Rules whose sources give different classes, by id."""
    return {rule.id: rule for rs in all_rule_sets() for rule in rs.rules if rule.class_options}


def rule_classes(db: Session) -> dict[str, str]:
    """The class the clinic chose per configurable rule (rules left out keep their default)."""
    return {
        s.setting_id.removeprefix(_PREFIX): str(s.value)
        for s in stored_settings(db, SCOPE)
        if s.setting_id.startswith(_PREFIX)
    }


def clinic_screening_policy(db: Session, treatment: Treatment) -> ScreeningPolicy:
    """The values screening for ``treatment`` reads in this clinic now."""
    policies = [clinic_policy(db, kind) for kind in TREATMENT_KINDS[treatment]]
    return screening_policy(policies, rule_classes(db))


@dataclass(frozen=True)
class RuleClassLine:
    rule: Rule
    chosen: str
    set_by: str | None
    reason: str | None


def rule_class_lines(db: Session) -> list[RuleClassLine]:
    applied = {s.setting_id.removeprefix(_PREFIX): s for s in stored_settings(db, SCOPE)}
    lines = []
    for rule_id, rule in configurable_rules().items():
        setting = applied.get(rule_id)
        lines.append(
            RuleClassLine(
                rule=rule,
                chosen=rule.rule_class.value if setting is None else str(setting.value),
                set_by=None if setting is None else setting.changed_by,
                reason=None if setting is None else setting.reason,
            )
        )
    return lines


def change_rule_class(
    db: Session,
    ctx: RequestContext,
    rule_id: str,
    rule_class: str | None,
    *,
    reason: str,
    revert: bool = False,
) -> SettingChange:
    """Choose the class of a rule whose sources differ (or return to the rule's default)."""
    if ctx.actor.role not in _MAY_CHANGE:
        raise PermissionDenied("Only an administrator may change how screening rules are classed.")
    if len(reason.strip()) < 5:
        raise InvalidInput("Write why the class changes (at least a few words).", field="reason")
    rules = configurable_rules()
    rule = rules.get(rule_id)
    if rule is None:
        raise InvalidInput(
            f"'{rule_id}' has one class in its sources; configurable: {', '.join(rules)}.",
            field="rule_id",
        )
    options = [o.rule_class.value for o in rule.class_options]
    if not revert and rule_class not in options:
        raise InvalidInput(
            f"{rule_id}: choose one of {', '.join(options)} (each is a source's class).",
            field="rule_class",
        )
    previous = rule_classes(db).get(rule_id, rule.rule_class.value)
    setting_id = _PREFIX + rule_id
    change = SettingChange(
        scope=SCOPE, setting_id=setting_id, value=None if revert else rule_class,
        reverted=revert, previous_value=previous, default_value=rule.rule_class.value,
        reason=reason.strip(), changed_by=ctx.actor.display_name, changed_at=ctx.now,
    )  # fmt: skip
    with atomic(db):
        db.add(
            ClinicSettingChangeRow(
                scope=SCOPE, setting_id=setting_id, value=change.value, reverted=revert,
                previous_value=previous, default_value=change.default_value,
                reason=change.reason, changed_by=change.changed_by, changed_at=ctx.now,
            )
        )  # fmt: skip
        db.flush()
        record_event(
            db, ctx.actor, "screening.rule_class.change", "screening_rule", rule_id,
            detail={"previous": previous, "new": change.value, "reverted": revert,
                    "reason": change.reason},
            now=ctx.now,
        )  # fmt: skip
    return change


def rule_class_history(db: Session) -> list[SettingChange]:
    return setting_history(db, SCOPE)
