"""The audit trail: every read and change of patient data, append-only and chained by SHA-256.

Each entry's hash covers a canonical serialisation of its own fields and the previous entry's
hash, so changing, inserting or removing any entry breaks the chain from that point on.
``verify_chain`` walks the chain and names the first entry that does not check out.

Services call ``record_event`` inside their own transaction, so an entry is written if and only
if the change it describes is committed.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from ketaclinic.errors import InvalidInput
from ketaclinic.services.context import Actor
from ketaclinic.storage.tables.access import AuditChainHead, AuditEvent

GENESIS_HASH = "0" * 64
_HEAD_ROW_ID = 1
EXPORT_COLUMNS = (
    "sequence",
    "occurred_at",
    "actor_user_id",
    "actor_role",
    "actor_name",
    "action",
    "entity_type",
    "entity_id",
    "patient_id",
    "detail",
    "ip_address",
    "previous_hash",
    "entry_hash",
)
ExportFormat = Literal["csv", "json"]


def canonical_json(value: Mapping[str, Any]) -> str:
    """Sorted keys, no spaces, UTF-8 kept: the same mapping always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _iso(moment: datetime) -> str:
    # Microseconds fixed so the text is identical after a round trip through either database.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def compute_entry_hash(entry: AuditEvent) -> str:
    """SHA-256 over the canonical serialisation of the entry's content and the previous hash."""
    content = {
        "sequence": entry.sequence,
        "occurred_at": _iso(entry.occurred_at),
        "actor_user_id": entry.actor_user_id,
        "actor_role": entry.actor_role,
        "actor_name": entry.actor_name,
        "action": entry.action,
        "entity_type": entry.entity_type,
        "entity_id": entry.entity_id,
        "patient_id": entry.patient_id,
        "detail": entry.detail_json,
        "ip_address": entry.ip_address,
        "previous_hash": entry.previous_hash,
    }
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def record_event(
    db: Session,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: str | None,
    *,
    patient_id: str | None = None,
    detail: Mapping[str, Any] | None = None,
    now: datetime,
) -> AuditEvent:
    """Append one entry to the chain in the caller's transaction and return it.

    ``action`` is a dotted verb such as ``"patient.read"`` or ``"session.vitals.record"``;
    ``entity`` the kind of record (``"patient"``, ``"session"``); ``detail`` what a reviewer
    needs to understand the event (never a password or token).

    Appending locks the chain head until the caller's transaction ends, so auditing transactions
    take turns from this call to their commit: call it as the last step of a use case, and record
    one entry per batch (a device's readings in one request), not one per row.
    """
    if not action.strip() or not entity.strip():
        raise InvalidInput("an audit entry needs an action and an entity type", field="action")
    if now.tzinfo is None:
        raise InvalidInput("the audit time must carry a time zone", field="now")
    for name, value in (("action", action), ("entity", entity), ("entity_id", entity_id)):
        if value is not None and len(value) > 80:
            raise InvalidInput(
                f"the audit {name} is limited to 80 characters: {value[:80]}…", field=name
            )
    # Take the write lock first by bumping the head (a row lock on PostgreSQL, the database write
    # lock on SQLite), so concurrent writers append one after another and never fork the chain.
    bumped = db.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == _HEAD_ROW_ID)
        .values(last_sequence=AuditChainHead.last_sequence + 1)
        .execution_options(synchronize_session=False)
    )
    if bumped.rowcount == 0:  # type: ignore[attr-defined]
        db.add(AuditChainHead(id=_HEAD_ROW_ID, last_sequence=1, last_hash=GENESIS_HASH))
        db.flush()
    head = db.get(AuditChainHead, _HEAD_ROW_ID, populate_existing=True)
    assert head is not None
    entry = AuditEvent(
        sequence=head.last_sequence,
        occurred_at=now.astimezone(UTC),
        actor_user_id=actor.user_id,
        actor_role=actor.role,
        actor_name=actor.display_name,
        action=action,
        entity_type=entity,
        entity_id=entity_id,
        patient_id=patient_id,
        detail_json=canonical_json(detail or {}),
        ip_address=actor.ip_address,
        previous_hash=head.last_hash,
    )
    entry.entry_hash = compute_entry_hash(entry)
    head.last_hash = entry.entry_hash
    db.add(entry)
    db.flush()
    return entry


@dataclass(frozen=True)
class VerificationResult:
    """The outcome of walking the chain. ``first_broken_sequence`` names where it breaks.

    ``entries_checked`` is the length of the chain that checks out; after an incremental check
    (``verify_chain(since=...)``) the entries up to ``resumed_after`` were verified earlier and
    only the later ones were walked now. ``last_hash`` is where the next incremental check starts.
    """

    ok: bool
    entries_checked: int
    first_broken_sequence: int | None = None
    first_broken_id: str | None = None
    reason: str | None = None
    resumed_after: int = 0
    last_hash: str = GENESIS_HASH

    def describe(self) -> str:
        if self.ok:
            return f"audit trail intact: {self.entries_checked} entries verified"
        return (
            f"audit trail broken at entry {self.first_broken_sequence} "
            f"(id {self.first_broken_id}): {self.reason}"
        )


@dataclass(frozen=True)
class ChainCheckpoint:
    """An entry up to which the chain was verified: later checks need only walk what follows."""

    sequence: int
    entry_hash: str

    @classmethod
    def after(cls, result: VerificationResult) -> ChainCheckpoint | None:
        return cls(result.entries_checked, result.last_hash) if result.ok else None


def _checkpoint_holds(db: Session, since: ChainCheckpoint) -> bool:
    """The checkpoint entry is still there, unchanged (else the caller walks the whole chain)."""
    if since.sequence == 0:
        return since.entry_hash == GENESIS_HASH
    entry = db.scalars(select(AuditEvent).where(AuditEvent.sequence == since.sequence)).first()
    return (
        entry is not None
        and entry.entry_hash == since.entry_hash
        and compute_entry_hash(entry) == since.entry_hash
    )


def verify_chain(
    db: Session, *, batch_size: int = 1000, since: ChainCheckpoint | None = None
) -> VerificationResult:
    """Check every entry's hash, its link to the previous entry and that no entry is missing.

    With ``since`` (an earlier successful check), only the entries after it are walked, once the
    checkpoint entry itself is found unchanged; otherwise the whole chain is. An incremental check
    cannot see an alteration of entries before the checkpoint: the full walk (this function
    without ``since``, ``ketaclinic audit verify``) is the one that proves the whole trail.
    """
    if since is not None and not _checkpoint_holds(db, since):
        since = None
    start = since or ChainCheckpoint(0, GENESIS_HASH)
    expected_previous = start.entry_hash
    expected_sequence = start.sequence + 1
    checked = start.sequence
    statement = (
        select(AuditEvent)
        .where(AuditEvent.sequence > start.sequence)
        .order_by(AuditEvent.sequence)
        .execution_options(yield_per=batch_size)
    )
    for entry in db.scalars(statement):
        problem = None
        if entry.sequence != expected_sequence:
            problem = f"expected entry {expected_sequence} here; entries are missing or inserted"
        elif entry.previous_hash != expected_previous:
            problem = "its link to the previous entry does not match (an earlier entry was altered)"
        elif compute_entry_hash(entry) != entry.entry_hash:
            problem = "its content no longer matches its hash (the entry was altered)"
        if problem is not None:
            return VerificationResult(
                False, checked, entry.sequence, entry.id, problem, resumed_after=start.sequence
            )
        checked += 1
        expected_previous = entry.entry_hash
        expected_sequence += 1
    head = db.get(AuditChainHead, _HEAD_ROW_ID, populate_existing=True)
    if head is not None and (head.last_sequence, head.last_hash) != (checked, expected_previous):
        return VerificationResult(
            False,
            checked,
            checked + 1,
            None,
            f"the chain ends at entry {checked} but {head.last_sequence} were written "
            "(entries were removed from the end)",
            resumed_after=start.sequence,
        )
    return VerificationResult(
        True, checked, resumed_after=start.sequence, last_hash=expected_previous
    )


@dataclass(frozen=True)
class AuditFilter:
    """What an administrator searches the trail by; every field optional."""

    patient_id: str | None = None
    actor_user_id: str | None = None
    action: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _filtered(criteria: AuditFilter) -> Select[AuditEvent]:
    statement = select(AuditEvent)
    if criteria.patient_id:
        statement = statement.where(AuditEvent.patient_id == criteria.patient_id)
    if criteria.actor_user_id:
        statement = statement.where(AuditEvent.actor_user_id == criteria.actor_user_id)
    if criteria.action:
        # A prefix search: "patient." finds every patient action.
        statement = statement.where(AuditEvent.action.startswith(criteria.action, autoescape=True))
    if criteria.entity_type:
        statement = statement.where(AuditEvent.entity_type == criteria.entity_type)
    if criteria.entity_id:
        statement = statement.where(AuditEvent.entity_id == criteria.entity_id)
    if criteria.since:
        statement = statement.where(AuditEvent.occurred_at >= criteria.since)
    if criteria.until:
        statement = statement.where(AuditEvent.occurred_at < criteria.until)
    return statement


def search_events(
    db: Session, criteria: AuditFilter, *, limit: int = 100, offset: int = 0
) -> list[AuditEvent]:
    """The newest matching entries first."""
    if not 1 <= limit <= 1000:
        raise InvalidInput(f"limit must be between 1 and 1000, not {limit}", field="limit")
    if offset < 0:
        raise InvalidInput(f"offset cannot be negative ({offset})", field="offset")
    statement = _filtered(criteria).order_by(AuditEvent.sequence.desc()).limit(limit).offset(offset)
    return list(db.scalars(statement))


def search_events_as(
    db: Session,
    actor: Actor,
    criteria: AuditFilter,
    *,
    limit: int = 100,
    offset: int = 0,
    now: datetime,
) -> list[AuditEvent]:
    """``search_events`` for a person, recorded in the trail: the trail names patients, so
    searching it is itself a read of patient data."""
    found = search_events(db, criteria, limit=limit, offset=offset)
    filters = {k: str(v) for k, v in vars(criteria).items() if v is not None}
    record_event(
        db, actor, "audit.search", "audit_trail", None, patient_id=criteria.patient_id,
        detail={**filters, "offset": offset, "results": len(found)}, now=now,
    )  # fmt: skip
    return found


def event_as_dict(entry: AuditEvent) -> dict[str, Any]:
    return {
        "sequence": entry.sequence,
        "occurred_at": _iso(entry.occurred_at),
        "actor_user_id": entry.actor_user_id,
        "actor_role": entry.actor_role,
        "actor_name": entry.actor_name,
        "action": entry.action,
        "entity_type": entry.entity_type,
        "entity_id": entry.entity_id,
        "patient_id": entry.patient_id,
        "detail": json.loads(entry.detail_json),
        "ip_address": entry.ip_address,
        "previous_hash": entry.previous_hash,
        "entry_hash": entry.entry_hash,
    }


def _iter_matching(db: Session, criteria: AuditFilter) -> Iterator[AuditEvent]:
    statement = _filtered(criteria).order_by(AuditEvent.sequence).execution_options(yield_per=1000)
    yield from db.scalars(statement)


def export_events(
    db: Session,
    actor: Actor,
    out: TextIO,
    *,
    fmt: ExportFormat,
    criteria: AuditFilter | None = None,
    now: datetime,
) -> int:
    """Write matching entries (oldest first) as CSV or JSON; the export is itself audited.

    Returns the number of entries written. The export entry is recorded first, so an export
    can never hide that it took place.
    """
    if fmt not in ("csv", "json"):
        raise InvalidInput(f"export format must be csv or json, not {fmt!r}", field="format")
    criteria = criteria or AuditFilter()
    filters = {k: str(v) for k, v in vars(criteria).items() if v is not None}
    record_event(
        db, actor, "audit.export", "audit_trail", None, detail={"format": fmt, **filters}, now=now
    )
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS)
        writer.writeheader()
        for entry in _iter_matching(db, criteria):
            row = event_as_dict(entry)
            row["detail"] = entry.detail_json
            writer.writerow(row)
            count += 1
    else:
        out.write("[")
        for entry in _iter_matching(db, criteria):
            out.write(("," if count else "") + "\n" + json.dumps(event_as_dict(entry)))
            count += 1
        out.write("\n]\n")
    return count
