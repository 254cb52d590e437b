"""The clinic's settings of its protocols: set, revert, list, and apply them wherever dosed.

A protocol declares which values a clinic may set (``configurable:``; dose default and titration
steps, infusion defaults, weight policy, limits, minimum interval). An administrator sets one with
a written reason; the clinical core refuses a value the protocol does not allow, outside the
sanity range, or wider than its sources; one append-only row records who, when, why, the previous
and the sourced value, with an audit entry, in one transaction (as ``services.policy`` does for
session thresholds).

:func:`effective_protocol` is the protocol as this clinic applies it; the plan services, the plan
pages and :func:`check_dose_limits` read protocols through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical.overrides import Override
from ketaclinic.clinical.policy import ProtocolKind
from ketaclinic.clinical.protocols import AppliedSetting, Protocol, all_protocols, get_protocol
from ketaclinic.clinical.protocols.limits import DoseLimitReport, evaluate_dose_limits
from ketaclinic.clinical.protocols.models import SettingValue
from ketaclinic.clinical.protocols.settings import (
    SettingDefinition,
    apply_settings,
    setting_definitions,
    sourced_value,
    validate_setting,
)
from ketaclinic.errors import InvalidInput, PermissionDenied
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import RequestContext
from ketaclinic.storage.database import atomic
from ketaclinic.storage.tables.planning import ClinicSettingChangeRow

__all__ = [
    "ProtocolSettingLine",
    "SettingChange",
    "change_protocol_setting",
    "check_dose_limits",
    "effective_protocol",
    "kind_of",
    "protocol_setting_lines",
    "setting_history",
    "stored_settings",
]

_MAY_CHANGE = frozenset({"administrator", "system"})


def kind_of(protocol: Protocol) -> ProtocolKind:
    """The clinic-policy kind a protocol's sessions follow (by route: IV, IM, intranasal...)."""
    return next(kind for kind in ProtocolKind if kind.route is protocol.route)


def protocol_scope(protocol_id: str) -> str:
    return f"protocol:{protocol_id}"


@dataclass(frozen=True)
class SettingChange:
    scope: str
    setting_id: str
    value: SettingValue
    reverted: bool
    previous_value: SettingValue
    default_value: SettingValue
    reason: str
    changed_by: str
    changed_at: datetime


def _from_json(value: Any) -> SettingValue:
    if isinstance(value, list):
        return tuple(float(v) for v in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value  # type: ignore[no-any-return]


def _to_json(value: SettingValue) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _rows(db: Session, scope: str | None = None) -> list[ClinicSettingChangeRow]:
    query = select(ClinicSettingChangeRow).order_by(
        ClinicSettingChangeRow.changed_at, ClinicSettingChangeRow.id
    )
    if scope is not None:
        query = query.where(ClinicSettingChangeRow.scope == scope)
    return list(db.scalars(query))


def stored_settings(db: Session, scope: str) -> list[AppliedSetting]:
    """The settings in force for one scope: the newest change per setting, unless reverted."""
    latest: dict[str, ClinicSettingChangeRow] = {}
    for row in _rows(db, scope):
        latest[row.setting_id] = row
    return [
        AppliedSetting(
            setting_id=row.setting_id,
            value=_from_json(row.value),
            default_value=_from_json(row.default_value),
            reason=row.reason,
            changed_by=row.changed_by,
            changed_at=row.changed_at,
        )
        for row in latest.values()
        if not row.reverted
    ]


def effective_protocol(db: Session, protocol_id: str) -> Protocol:
    """The protocol with this clinic's settings applied (an unknown id names the known ones)."""
    return apply_settings(
        get_protocol(protocol_id), stored_settings(db, protocol_scope(protocol_id))
    )


def check_dose_limits(
    db: Session,
    protocol_id: str,
    *,
    dose_mg: float,
    dose_mg_per_kg: float | None = None,
    interval_days: int | None = None,
    overrides: Sequence[Override] = (),
) -> DoseLimitReport:
    """A protocol's limits as this clinic applies them, and one dose checked against them.

    The report lists every limit in force with its source (the protocol's or the clinic's
    setting, who and why), each check (``within``, exceeded, overridden, or "not configured" for
    a ceiling nobody has set, with a warning), and ``refused``: the breached limits no override
    covers. It never raises for a breach; ``report.require_within()`` raises ``OverrideRequired``.
    Stable entry point for the session's start-of-dosing check.
    """
    protocol = effective_protocol(db, protocol_id)
    return evaluate_dose_limits(
        protocol,
        dose_mg=dose_mg,
        dose_mg_per_kg=dose_mg_per_kg,
        interval_days=interval_days,
        overrides=overrides,
    )


def change_protocol_setting(
    db: Session,
    ctx: RequestContext,
    protocol_id: str,
    setting_id: str,
    value: Any,
    *,
    reason: str,
    revert: bool = False,
) -> SettingChange:
    """Set (or with ``revert`` return to the sourced value) one protocol value, recording why."""
    if ctx.actor.role not in _MAY_CHANGE:
        raise PermissionDenied("Only an administrator may change the clinic's protocol settings.")
    if len(reason.strip()) < 5:
        raise InvalidInput("Write why the setting changes (at least a few words).", field="reason")
    sourced = get_protocol(protocol_id)
    scope = protocol_scope(protocol_id)
    current = {s.setting_id: s for s in stored_settings(db, scope)}
    before = apply_settings(sourced, list(current.values()))
    new_value = None if revert else validate_setting(sourced, setting_id, value)
    if revert:
        if setting_id not in sourced.configurable:
            validate_setting(sourced, setting_id, None)  # names what is settable
        current.pop(setting_id, None)
    else:
        current[setting_id] = AppliedSetting(
            setting_id=setting_id, value=new_value,
            default_value=sourced_value(sourced, setting_id), reason=reason.strip(),
            changed_by=ctx.actor.display_name, changed_at=ctx.now,
        )  # fmt: skip
    apply_settings(sourced, list(current.values()))  # refuses a contradiction before any write
    change = SettingChange(
        scope=scope,
        setting_id=setting_id,
        value=new_value,
        reverted=revert,
        previous_value=sourced_value(before, setting_id),
        default_value=sourced_value(sourced, setting_id),
        reason=reason.strip(),
        changed_by=ctx.actor.display_name,
        changed_at=ctx.now,
    )
    with atomic(db):
        db.add(
            ClinicSettingChangeRow(
                scope=scope, setting_id=setting_id, value=_to_json(change.value), reverted=revert,
                previous_value=_to_json(change.previous_value),
                default_value=_to_json(change.default_value), reason=change.reason,
                changed_by=change.changed_by, changed_at=ctx.now,
            )
        )  # fmt: skip
        db.flush()
        record_event(
            db, ctx.actor, "protocol.setting.change", "protocol_setting", f"{scope}:{setting_id}",
            detail={"previous": _to_json(change.previous_value), "new": _to_json(change.value),
                    "reverted": revert, "reason": change.reason},
            now=ctx.now,
        )  # fmt: skip
    return change


def setting_history(db: Session, scope: str | None = None) -> list[SettingChange]:
    """Every stored change, oldest first (optionally of one scope)."""
    return [
        SettingChange(
            scope=row.scope,
            setting_id=row.setting_id,
            value=_from_json(row.value),
            reverted=row.reverted,
            previous_value=_from_json(row.previous_value),
            default_value=_from_json(row.default_value),
            reason=row.reason,
            changed_by=row.changed_by,
            changed_at=row.changed_at,
        )
        for row in _rows(db, scope)
    ]


@dataclass(frozen=True)
class ProtocolSettingLine:
    """One configurable value of one protocol as the policy page shows it."""

    protocol_id: str
    protocol_name: str
    setting: SettingDefinition
    sourced_value: SettingValue
    value: SettingValue
    source: str
    verified: bool
    applied: AppliedSetting | None


def _section_source(protocol: Protocol, setting_id: str) -> tuple[str, bool]:
    section = setting_id.partition(".")[0]
    part = getattr(protocol, section)
    source = part.source if part is not None else protocol.sources[0]
    return source.short(), source.verified


def protocol_setting_lines(db: Session) -> list[ProtocolSettingLine]:
    """Every configurable value of every protocol: sourced value, value in force, source."""
    definitions = setting_definitions()
    lines: list[ProtocolSettingLine] = []
    for sourced in all_protocols():
        protocol = effective_protocol(db, sourced.id)
        for setting_id in sourced.configurable:
            text, verified = _section_source(sourced, setting_id)
            lines.append(
                ProtocolSettingLine(
                    protocol_id=sourced.id, protocol_name=sourced.name,
                    setting=definitions[setting_id],
                    sourced_value=sourced_value(sourced, setting_id),
                    value=sourced_value(protocol, setting_id), source=text, verified=verified,
                    applied=protocol.setting(setting_id),
                )
            )  # fmt: skip
    return lines
