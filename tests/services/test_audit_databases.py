"""The audit chain on real databases: exact round trips; concurrent writers never fork it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from ketaclinic.services.audit import record_event, verify_chain
from ketaclinic.services.context import Actor
from ketaclinic.storage.database import SessionFactory, transaction

T0 = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)


def test_entries_verify_after_a_round_trip_through_the_database(
    session_factory: SessionFactory,
) -> None:
    actor = Actor(user_id=None, role="nurse", display_name="Zoë Ñurse", ip_address="::1")
    with transaction(session_factory) as db:
        for index in range(5):
            record_event(
                db, actor, "patient.read", "patient", f"p{index}",
                detail={"note": "unicode ✓", "nested": {"b": [1, 2], "a": None}},
                now=T0 + timedelta(microseconds=index),
            )  # fmt: skip
    # A fresh session reads everything back from the database, not from memory.
    with transaction(session_factory) as db:
        result = verify_chain(db)
    assert result.ok, result.describe()
    assert result.entries_checked == 5


def test_concurrent_writers_append_one_after_another(session_factory: SessionFactory) -> None:
    writers, per_writer = 4, 10
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        actor = Actor(user_id=f"u{writer}", role="nurse", display_name=f"Nurse {writer}")
        try:
            for index in range(per_writer):
                with transaction(session_factory) as db:
                    record_event(
                        db, actor, "session.vitals.record", "session", f"s{writer}-{index}",
                        now=T0 + timedelta(seconds=index),
                    )  # fmt: skip
        except BaseException as exc:  # reported below, in the test's own thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with transaction(session_factory) as db:
        result = verify_chain(db)
    assert result.ok, result.describe()
    assert result.entries_checked == writers * per_writer
