"""The audit trail: entries chain by hash, verification names the first broken entry."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from ketaclinic.errors import InvalidInput
from ketaclinic.services.audit import (
    GENESIS_HASH,
    AuditFilter,
    ChainCheckpoint,
    canonical_json,
    compute_entry_hash,
    export_events,
    record_event,
    search_events,
    verify_chain,
)
from ketaclinic.services.context import Actor
from ketaclinic.storage.tables.access import AuditEvent
from ketaclinic.storage.tables.base import Base

NURSE = Actor(user_id="u-nurse", role="nurse", display_name="Nora Nurse", ip_address="10.0.0.7")
_CONTENT_COLUMNS = (
    "sequence",
    "occurred_at",
    "actor_user_id",
    "actor_role",
    "actor_name",
    "action",
    "entity_type",
    "entity_id",
    "patient_id",
    "detail_json",
    "ip_address",
    "previous_hash",
)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def db() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with sessionmaker(engine)() as session:
        yield session
    engine.dispose()


def _write(db: Session, count: int) -> list[AuditEvent]:
    entries = [
        record_event(
            db,
            NURSE,
            "patient.read",
            "patient",
            f"p{i}",
            patient_id=f"00000000-0000-0000-0000-00000000000{i % 10}",
            detail={"page": "chart", "n": i},
            now=T0 + timedelta(minutes=i),
        )
        for i in range(count)
    ]
    db.commit()
    return entries


def test_first_entry_hash_is_sha256_of_its_canonical_content(db: Session) -> None:
    entry = _write(db, 1)[0]
    # Recomputed here by hand from the documented fields, not by the service's own function.
    content = {
        "sequence": 1,
        "occurred_at": "2026-03-02T09:00:00.000000+00:00",
        "actor_user_id": "u-nurse",
        "actor_role": "nurse",
        "actor_name": "Nora Nurse",
        "action": "patient.read",
        "entity_type": "patient",
        "entity_id": "p0",
        "patient_id": "00000000-0000-0000-0000-000000000000",
        "detail": '{"n":0,"page":"chart"}',
        "ip_address": "10.0.0.7",
        "previous_hash": GENESIS_HASH,
    }
    text_form = json.dumps(content, sort_keys=True, separators=(",", ":"))
    assert entry.entry_hash == hashlib.sha256(text_form.encode()).hexdigest()


def test_entries_link_to_the_previous_and_the_chain_verifies(db: Session) -> None:
    entries = _write(db, 5)
    assert [e.sequence for e in entries] == [1, 2, 3, 4, 5]
    for before, after in itertools.pairwise(entries):
        assert after.previous_hash == before.entry_hash
    result = verify_chain(db)
    assert result.ok
    assert result.entries_checked == 5


def test_empty_trail_verifies(db: Session) -> None:
    assert verify_chain(db).ok


def test_an_incremental_check_walks_only_the_new_entries_and_catches_their_tampering(
    db: Session,
) -> None:
    _write(db, 4)
    first = verify_chain(db)
    checkpoint = ChainCheckpoint.after(first)
    assert checkpoint == ChainCheckpoint(4, db.scalars(select(AuditEvent.entry_hash).where(
        AuditEvent.sequence == 4)).one())  # fmt: skip
    more = [
        record_event(db, NURSE, "patient.read", "patient", f"q{i}", now=T0 + timedelta(hours=i))
        for i in range(3)
    ]
    db.commit()
    again = verify_chain(db, since=checkpoint)
    assert (again.ok, again.entries_checked, again.resumed_after) == (True, 7, 4)
    assert again.last_hash == more[-1].entry_hash
    db.execute(text("UPDATE audit_events SET action = 'patient.change' WHERE sequence = 6"))
    db.commit()
    broken = verify_chain(db, since=checkpoint)
    assert (broken.ok, broken.first_broken_sequence) == (False, 6)


def test_an_altered_checkpoint_entry_makes_the_check_walk_the_whole_chain(db: Session) -> None:
    _write(db, 5)
    checkpoint = ChainCheckpoint.after(verify_chain(db))
    assert checkpoint is not None
    db.execute(text("UPDATE audit_events SET actor_name = 'Nobody' WHERE sequence = 5"))
    db.commit()
    result = verify_chain(db, since=checkpoint)
    assert (result.ok, result.resumed_after, result.first_broken_sequence) == (False, 0, 5)
    # The full walk is what finds an entry altered before the checkpoint.
    db.execute(text("UPDATE audit_events SET actor_name = 'Nobody' WHERE sequence = 2"))
    db.commit()
    assert verify_chain(db).first_broken_sequence == 2


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("action", "'patient.change'"),
        ("actor_name", "'Someone Else'"),
        ("patient_id", "NULL"),
        ("detail_json", "'{}'"),
        ("occurred_at", "'2025-01-01 00:00:00.000000'"),
        ("ip_address", "'1.2.3.4'"),
    ],
)
@settings(max_examples=6, deadline=None)
@given(victim=st.integers(min_value=1, max_value=6))
def test_altering_any_field_of_any_entry_is_detected_and_named(
    column: str, value: str, victim: int
) -> None:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with sessionmaker(engine)() as db:
        _write(db, 6)
        # Tampering straight in the database, as someone bypassing the application would.
        db.execute(text(f"UPDATE audit_events SET {column} = {value} WHERE sequence = {victim}"))
        db.commit()
        result = verify_chain(db)
    engine.dispose()
    assert not result.ok
    assert result.first_broken_sequence == victim
    assert result.entries_checked == victim - 1
    assert f"entry {victim}" in result.describe()


def test_a_forger_who_rehashes_an_altered_entry_breaks_the_next_link(db: Session) -> None:
    _write(db, 4)
    victim = db.scalars(select(AuditEvent).where(AuditEvent.sequence == 2)).one()
    forged = AuditEvent(**{c: getattr(victim, c) for c in _CONTENT_COLUMNS})
    forged.action = "patient.change"
    new_hash = compute_entry_hash(forged)
    db.expunge_all()
    db.execute(
        text("UPDATE audit_events SET action = :a, entry_hash = :h WHERE sequence = 2"),
        {"a": "patient.change", "h": new_hash},
    )
    db.commit()
    result = verify_chain(db)
    assert result.first_broken_sequence == 3
    assert "previous entry" in (result.reason or "")


def test_removing_an_entry_in_the_middle_is_detected(db: Session) -> None:
    _write(db, 5)
    db.execute(text("DELETE FROM audit_events WHERE sequence = 3"))
    db.commit()
    result = verify_chain(db)
    assert not result.ok
    assert result.first_broken_sequence == 4


def test_removing_entries_from_the_end_is_detected(db: Session) -> None:
    _write(db, 5)
    db.execute(text("DELETE FROM audit_events WHERE sequence >= 4"))
    db.commit()
    result = verify_chain(db)
    assert not result.ok
    assert result.first_broken_sequence == 4
    assert "removed" in (result.reason or "")


def test_the_application_refuses_to_change_or_delete_an_entry(db: Session) -> None:
    entry = _write(db, 1)[0]
    entry.action = "something.else"
    with pytest.raises(PermissionError, match="append-only"):
        db.flush()
    db.rollback()
    db.delete(db.get(AuditEvent, entry.id))
    with pytest.raises(PermissionError, match="append-only"):
        db.flush()


def test_rolled_back_change_leaves_no_entry(db: Session) -> None:
    _write(db, 2)
    record_event(db, NURSE, "patient.change", "patient", "p9", now=T0)
    db.rollback()
    assert verify_chain(db).entries_checked == 2
    entry = record_event(db, NURSE, "patient.change", "patient", "p9", now=T0)
    assert entry.sequence == 3


def test_search_filters_and_orders_newest_first(db: Session) -> None:
    _write(db, 12)
    found = search_events(db, AuditFilter(patient_id="00000000-0000-0000-0000-000000000001"))
    assert [e.entity_id for e in found] == ["p11", "p1"]
    window = search_events(
        db, AuditFilter(since=T0 + timedelta(minutes=3), until=T0 + timedelta(minutes=5))
    )
    assert [e.sequence for e in window] == [5, 4]
    assert search_events(db, AuditFilter(action="patient.")) != []
    assert search_events(db, AuditFilter(action="session.")) == []


def test_export_csv_and_json_contain_the_entries_and_are_audited(db: Session) -> None:
    _write(db, 3)
    admin = Actor(user_id="u-admin", role="administrator", display_name="Ada Admin")
    out = io.StringIO()
    assert export_events(db, admin, out, fmt="json", now=T0) == 4  # 3 + the export itself
    rows = json.loads(out.getvalue())
    assert rows[-1]["action"] == "audit.export"
    assert rows[0]["detail"] == {"n": 0, "page": "chart"}
    csv_out = io.StringIO()
    export_events(db, admin, csv_out, fmt="csv", criteria=AuditFilter(entity_id="p2"), now=T0)
    lines = csv_out.getvalue().strip().splitlines()
    assert lines[0].startswith("sequence,occurred_at")
    assert len(lines) == 2
    assert verify_chain(db).ok


def test_canonical_json_is_order_independent() -> None:
    assert (
        canonical_json({"b": 1, "a": "é"})
        == canonical_json({"a": "é", "b": 1})
        == '{"a":"é","b":1}'
    )


def test_bad_entries_are_refused_with_the_field_named(db: Session) -> None:
    with pytest.raises(InvalidInput) as caught:
        record_event(db, NURSE, "patient.read", "patient", "x" * 81, now=T0)
    assert caught.value.field == "entity_id"
    with pytest.raises(InvalidInput) as naive:
        record_event(db, NURSE, "patient.read", "patient", "p1", now=T0.replace(tzinfo=None))
    assert naive.value.field == "now"
    with pytest.raises(InvalidInput):
        record_event(db, NURSE, " ", "patient", "p1", now=T0)
    assert verify_chain(db).entries_checked == 0
