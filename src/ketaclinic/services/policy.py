"""The clinic's session policy: sourced defaults plus the overrides an administrator stored.

Changing a threshold goes through the clinical core's checks first (unknown parameter, outside the
sanity range, loosening a REMS-protected value are refused), then writes one append-only row with
who, why, the previous and the default value, and an audit entry, in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical.policy import (
    EffectivePolicy,
    ProtocolKind,
    effective_policy,
    parse_protocol_kind,
)
from ketaclinic.errors import InvalidInput, PermissionDenied
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import RequestContext
from ketaclinic.storage.database import atomic
from ketaclinic.storage.tables.policy import PolicyOverrideRow

_MAY_CHANGE_POLICY = frozenset({"administrator", "system"})


@dataclass(frozen=True)
class PolicyChange:
    protocol_kind: ProtocolKind
    parameter_id: str
    value: float | None
    reverted: bool
    previous_value: float | None
    default_value: float | None
    reason: str
    changed_by: str
    changed_at: datetime


def _kind(kind: ProtocolKind | str) -> ProtocolKind:
    return kind if isinstance(kind, ProtocolKind) else parse_protocol_kind(kind)


def stored_overrides(db: Session, kind: ProtocolKind | str) -> dict[str, float | None]:
    """The overrides in force for one protocol kind (the newest change per parameter)."""
    rows = db.scalars(
        select(PolicyOverrideRow)
        .where(PolicyOverrideRow.protocol_kind == _kind(kind).value)
        .order_by(PolicyOverrideRow.changed_at, PolicyOverrideRow.id)
    )
    latest: dict[str, PolicyOverrideRow] = {}
    for row in rows:
        latest[row.parameter_id] = row
    return {pid: row.value for pid, row in latest.items() if not row.reverted}


def clinic_policy(db: Session, kind: ProtocolKind | str) -> EffectivePolicy:
    """The policy that applies in this clinic now for ``kind``."""
    return effective_policy(_kind(kind), stored_overrides(db, kind))[0]


def change_threshold(
    db: Session,
    ctx: RequestContext,
    kind: ProtocolKind | str,
    parameter_id: str,
    value: float | None,
    *,
    reason: str,
    revert: bool = False,
) -> PolicyChange:
    """Set (or with ``revert`` return to the default) one threshold, recording who and why."""
    if ctx.actor.role not in _MAY_CHANGE_POLICY:
        raise PermissionDenied("Only an administrator may change the clinic's thresholds.")
    if len(reason.strip()) < 5:
        raise InvalidInput(
            "Write why the threshold changes (at least a few words).", field="reason"
        )
    protocol_kind = _kind(kind)
    current = stored_overrides(db, protocol_kind)
    before = effective_policy(protocol_kind, current)[0]
    wanted = dict(current)
    if revert:
        wanted.pop(parameter_id, None)
    else:
        wanted[parameter_id] = value
    after, _ = effective_policy(protocol_kind, wanted)  # refuses bad values before any write
    default = effective_policy(protocol_kind)[0]
    change = PolicyChange(
        protocol_kind=protocol_kind,
        parameter_id=parameter_id,
        value=None if revert else value,
        reverted=revert,
        previous_value=before.get(parameter_id),
        default_value=default.get(parameter_id),
        reason=reason.strip(),
        changed_by=ctx.actor.display_name,
        changed_at=ctx.now,
    )
    with atomic(db):
        db.add(
            PolicyOverrideRow(
                protocol_kind=protocol_kind.value,
                parameter_id=parameter_id,
                value=change.value,
                reverted=revert,
                previous_value=change.previous_value,
                default_value=change.default_value,
                reason=change.reason,
                changed_by=change.changed_by,
                changed_at=ctx.now,
            )
        )
        db.flush()
        record_event(
            db,
            ctx.actor,
            "policy.threshold.change",
            "clinic_policy",
            f"{protocol_kind.value}:{parameter_id}",
            detail={
                "previous": change.previous_value,
                "new": after.get(parameter_id),
                "reverted": revert,
                "reason": change.reason,
            },
            now=ctx.now,
        )
    return change


def policy_history(db: Session, kind: ProtocolKind | str | None = None) -> list[PolicyChange]:
    """Every stored change, oldest first (optionally for one protocol kind)."""
    query = select(PolicyOverrideRow).order_by(PolicyOverrideRow.changed_at, PolicyOverrideRow.id)
    if kind is not None:
        query = query.where(PolicyOverrideRow.protocol_kind == _kind(kind).value)
    return [
        PolicyChange(
            protocol_kind=ProtocolKind(row.protocol_kind),
            parameter_id=row.parameter_id,
            value=row.value,
            reverted=row.reverted,
            previous_value=row.previous_value,
            default_value=row.default_value,
            reason=row.reason,
            changed_by=row.changed_by,
            changed_at=row.changed_at,
        )
        for row in db.scalars(query)
    ]
