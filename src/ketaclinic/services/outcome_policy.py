"""The clinic's outcome definitions: read the choices in force, change one with a reason.

The choices (baseline rule; remission and relapse option per instrument, among the cited ones in
outcomes.yaml) start from the ``outcome_options`` section of clinic_policy.yaml. An administrator
changes one with a written reason: one append-only row in ``clinic_setting_changes`` (scope
``outcomes``) with who, when, the previous and the default choice, plus an audit entry, in one
transaction, as ``services.policy`` does for session thresholds. Every page and report that judges
response, remission or relapse reads :func:`clinic_outcome_policy`, so they agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical.outcome_policy import (
    OutcomeChoice,
    OutcomeSetting,
    chosen,
    outcome_policy,
    outcome_setting,
    outcome_settings,
)
from ketaclinic.clinical.outcomes import OutcomePolicy
from ketaclinic.errors import InvalidInput, PermissionDenied
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import RequestContext
from ketaclinic.storage.database import atomic
from ketaclinic.storage.tables.planning import ClinicSettingChangeRow

OUTCOMES_SCOPE = "outcomes"
_MAY_CHANGE = frozenset({"administrator", "system"})


@dataclass(frozen=True)
class OutcomeChoiceChange:
    setting_id: str
    choice: str | None  # None when reverted
    reverted: bool
    previous_choice: str
    default_choice: str
    reason: str
    changed_by: str
    changed_at: datetime


@dataclass(frozen=True)
class OutcomeSettingLine:
    """One outcome definition as the clinic policy page shows it."""

    setting: OutcomeSetting
    in_force: OutcomeChoice
    default: OutcomeChoice
    changed_by_clinic: bool


def _rows(db: Session) -> list[ClinicSettingChangeRow]:
    return list(
        db.scalars(
            select(ClinicSettingChangeRow)
            .where(ClinicSettingChangeRow.scope == OUTCOMES_SCOPE)
            .order_by(ClinicSettingChangeRow.changed_at, ClinicSettingChangeRow.id)
        )
    )


def stored_choices(db: Session) -> dict[str, str]:
    """The administrator's choices in force (the newest per setting, unless reverted)."""
    latest: dict[str, ClinicSettingChangeRow] = {}
    for row in _rows(db):
        latest[row.setting_id] = row
    return {sid: str(row.value) for sid, row in latest.items() if not row.reverted}


def clinic_outcome_policy(db: Session) -> OutcomePolicy:
    """The outcome definitions that apply in this clinic now."""
    return outcome_policy(stored_choices(db))


def outcome_setting_lines(db: Session) -> list[OutcomeSettingLine]:
    policy = clinic_outcome_policy(db)
    return [
        OutcomeSettingLine(
            setting=setting,
            in_force=setting.choice(chosen(policy, setting)),
            default=setting.choice(setting.default),
            changed_by_clinic=chosen(policy, setting) != setting.default,
        )
        for setting in outcome_settings()
    ]


def change_outcome_choice(
    db: Session,
    ctx: RequestContext,
    setting_id: str,
    choice: str | None,
    *,
    reason: str,
    revert: bool = False,
) -> OutcomeChoiceChange:
    """Choose (or with ``revert`` return to the default) one outcome definition, recording why.

    Only the cited choices are accepted; the change applies to every chart, portal page, report
    and cohort query from now on (stored scores are not changed; outcomes are judged when shown).
    """
    if ctx.actor.role not in _MAY_CHANGE:
        raise PermissionDenied("Only an administrator may change the clinic's outcome definitions.")
    if len(reason.strip()) < 5:
        raise InvalidInput(
            "Write why the definition changes (at least a few words).", field="reason"
        )
    setting = outcome_setting(setting_id)
    if not revert:
        if not choice:
            raise InvalidInput(
                f"{setting.label}: choose one of the cited options.", field=setting_id
            )
        setting.choice(choice)
    current = stored_choices(db)
    previous = chosen(outcome_policy(current), setting)
    change = OutcomeChoiceChange(
        setting_id=setting_id, choice=None if revert else choice, reverted=revert,
        previous_choice=previous, default_choice=setting.default, reason=reason.strip(),
        changed_by=ctx.actor.display_name, changed_at=ctx.now,
    )  # fmt: skip
    with atomic(db):
        db.add(
            ClinicSettingChangeRow(
                scope=OUTCOMES_SCOPE, setting_id=setting_id, value=change.choice, reverted=revert,
                previous_value=previous, default_value=setting.default, reason=change.reason,
                changed_by=change.changed_by, changed_at=ctx.now,
            )
        )  # fmt: skip
        db.flush()
        record_event(
            db, ctx.actor, "policy.outcome.change", "clinic_policy", f"outcomes:{setting_id}",
            detail={"previous": previous, "new": chosen(clinic_outcome_policy(db), setting),
                    "reverted": revert, "reason": change.reason},
            now=ctx.now,
        )  # fmt: skip
    return change


def outcome_choice_history(db: Session) -> list[OutcomeChoiceChange]:
    """Every change of an outcome definition, oldest first."""
    return [
        OutcomeChoiceChange(
            setting_id=row.setting_id,
            choice=None if row.value is None else str(row.value),
            reverted=row.reverted,
            previous_choice=str(row.previous_value),
            default_choice=str(row.default_value),
            reason=row.reason,
            changed_by=row.changed_by,
            changed_at=row.changed_at,
        )
        for row in _rows(db)
    ]
