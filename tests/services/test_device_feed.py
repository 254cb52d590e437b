"""The device feed: accepted, duplicate, rejected with the reason; idempotent re-sends; late and
out-of-order readings; nothing stored twice and nothing clamped, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from session_services import ESK, IV, T0, at, checked_in, discharged, monitoring, scheduled
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaclinic.errors import InvalidInput, NotFound, PermissionDenied
from ketaclinic.services import device_feed, session_today, sessions
from ketaclinic.services.context import SYSTEM, Actor, RequestContext
from ketaclinic.storage.database import SessionFactory
from ketaclinic.storage.tables.sessions import BedsideDeviceRow, SessionReadingRow

FULL_VITALS = {
    "systolic_mmhg": 132, "diastolic_mmhg": 84, "heart_rate_bpm": 78, "spo2_percent": 97,
    "respiratory_rate_per_min": 14,
}  # fmt: skip


def rid(n: int) -> str:
    return str(uuid.UUID(int=n, version=4))


def reading(n: int, minute: float, **values: Any) -> dict[str, Any]:
    stamp = (T0 + timedelta(minutes=minute)).isoformat()
    defaults = {"systolic_mmhg": 130, "diastolic_mmhg": 82, "heart_rate_bpm": 74}
    return {"id": rid(n), "taken_at": stamp} | (values or defaults)


def stored(db: Session, session_id: str) -> int:
    query = select(func.count()).select_from(SessionReadingRow)
    return int(db.scalar(query.where(SessionReadingRow.session_id == session_id)) or 0)


def statuses(results: list[device_feed.ReadingResult]) -> list[str]:
    return [r.status for r in results]


def device_ctx(minute: float) -> RequestContext:
    actor = Actor(user_id=None, role="device", display_name="device Chair 2 monitor")
    return at(minute, actor)


def test_the_same_batch_twice_stores_each_reading_once(db: Session) -> None:
    sid = monitoring(db, ESK)
    batch = [reading(1, 30), reading(2, 35), reading(3, 40, spo2_percent=97)]
    first = device_feed.receive_readings(db, device_ctx(41), sid, batch, device_id="dev-1")
    assert statuses(first) == ["accepted"] * 3
    count = stored(db, sid)
    again = device_feed.receive_readings(db, device_ctx(42), sid, batch, device_id="dev-1")
    assert statuses(again) == ["duplicate"] * 3
    assert stored(db, sid) == count
    methods = db.scalars(
        select(SessionReadingRow.method).where(SessionReadingRow.client_id == rid(1))
    ).all()
    assert methods == ["device:dev-1"]


def test_late_and_out_of_order_readings_are_accepted_in_time_order(db: Session) -> None:
    sid = monitoring(db, IV)
    device_feed.receive_readings(db, device_ctx(50), sid, [reading(10, 45)])
    late = device_feed.receive_readings(
        db, device_ctx(60), sid, [reading(12, 40), reading(11, 25, **FULL_VITALS)]
    )
    assert statuses(late) == ["accepted", "accepted"]
    record = sessions.get_session(db, at(61), sid)
    times = sorted(o.taken_at for o in record.observations if o.id in {rid(10), rid(11), rid(12)})
    assert [(t - T0).total_seconds() / 60 for t in times] == [25, 40, 45]
    # Checkpoints read readings by their own time: the late 09:25 reading is "during dosing #1"
    # (10 minutes into the infusion that started at 09:15).
    points = {p.checkpoint.id: p for p in session_today.checkpoints(db, at(61), sid)}
    assert points["vitals-during-1"].satisfied_at == T0 + timedelta(minutes=25)
    assert points["vitals-during-1"].state.value == "done"


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"systolic_mmhg": 420, "diastolic_mmhg": 80}, "Systolic"),
        ({"heart_rate_bpm": -1}, "Heart rate"),
        ({"spo2_percent": 101}, "Oxygen saturation"),
        ({"respiratory_rate_per_min": -2}, "Respiratory"),
        ({"systolic_mmhg": "high"}, "systolic_mmhg"),
        ({"systolic_mmhg": 80, "diastolic_mmhg": 120}, "swapped"),
        ({"systolic_mmhg": 90, "diastolic_mmhg": 90}, "not below systolic"),
    ],
)
def test_impossible_values_are_rejected_with_the_reason_never_clamped(
    db: Session, values: dict[str, Any], fragment: str
) -> None:
    sid = checked_in(db, IV)
    before = stored(db, sid)
    good, bad = reading(20, 6), reading(21, 7, **values)
    results = device_feed.receive_readings(db, device_ctx(8), sid, [good, bad])
    assert statuses(results) == ["accepted", "rejected"]
    assert results[1].id == rid(21)
    assert fragment.lower() in (results[1].reason or "").lower()
    assert stored(db, sid) == before + 1


@pytest.mark.parametrize(
    ("values", "rule"),
    [
        ({"respiratory_rate_per_min": 0, "spo2_percent": 93}, "respiratory-rate-low"),
        ({"spo2_percent": 45, "heart_rate_bpm": 130}, "spo2-low"),
        ({"spo2_percent": 0}, "spo2-low"),
    ],
)
def test_the_most_dangerous_readings_are_stored_and_raise_their_alert(
    db: Session, values: dict[str, Any], rule: str
) -> None:
    sid = monitoring(db, ESK)
    results = device_feed.receive_readings(db, device_ctx(31), sid, [reading(60, 30, **values)])
    assert statuses(results) == ["accepted"], results[0].reason
    assert rule in results[0].alerts
    record = sessions.get_session(db, at(32), sid)
    alert = next(a for a in record.open_alerts if a.finding.rule_id == rule)
    assert alert.finding.severity == "critical"
    assert alert.observation_id == rid(60)
    stored_values = next(o for o in record.observations if o.id == rid(60)).measures
    assert stored_values.model_dump(exclude_none=True) == {k: float(v) for k, v in values.items()}


def test_a_heart_rate_of_15_is_charted_not_refused(db: Session) -> None:
    sid = monitoring(db, IV)
    results = device_feed.receive_readings(
        db, device_ctx(61), sid, [reading(61, 60, heart_rate_bpm=15, spo2_percent=82)]
    )
    assert statuses(results) == ["accepted"]
    assert "spo2-low" in results[0].alerts


def test_each_malformed_reading_is_rejected_on_its_own(db: Session) -> None:
    sid = checked_in(db, IV)
    naive = reading(31, 6) | {"taken_at": "2026-03-02T09:06:00"}
    cases = [
        (reading(30, 6) | {"id": "chair-2-0001"}, "not a UUID"),
        (naive, "time-zone offset"),
        ({"id": rid(32), "taken_at": (T0.isoformat())}, "has no value"),
        (reading(33, 30), "in the future"),
        (reading(34, -5), "before check-in"),
        (reading(35, 6) | {"temperature_c": 37.0}, "temperature_c"),
    ]
    results = device_feed.receive_readings(db, device_ctx(8), sid, [c[0] for c in cases])
    for result, (_, fragment) in zip(results, cases, strict=True):
        assert result.status == "rejected"
        assert fragment in (result.reason or ""), result.reason
    assert stored(db, sid) == 1  # the nurse's baseline only


def test_a_re_used_id_with_other_values_is_rejected_not_replaced(db: Session) -> None:
    sid = checked_in(db, IV)
    device_feed.receive_readings(db, device_ctx(8), sid, [reading(40, 6)])
    changed = reading(40, 6, systolic_mmhg=150, diastolic_mmhg=90)
    result = device_feed.receive_readings(db, device_ctx(9), sid, [changed])
    assert statuses(result) == ["rejected"]
    assert "never replaced" in (result[0].reason or "")
    row = db.scalars(select(SessionReadingRow).where(SessionReadingRow.client_id == rid(40))).one()
    assert row.systolic_mmhg == 130


def test_alerts_raised_by_accepted_readings_are_reported(db: Session) -> None:
    sid = monitoring(db, ESK)
    # Baseline 128/82; 170/90 is a 42 mmHg systolic rise: the label's 40 mmHg definition.
    results = device_feed.receive_readings(
        db, device_ctx(56), sid, [reading(50, 55, systolic_mmhg=170, diastolic_mmhg=90)]
    )
    assert results[0].status == "accepted"
    assert "bp-rise-over-baseline" in results[0].alerts
    record = sessions.get_session(db, at(57), sid)
    assert [a.finding.rule_id for a in record.open_alerts] == list(results[0].alerts)


def test_a_long_session_judges_readings_against_its_whole_pre_dose_record(db: Session) -> None:
    # The feed loads only what judging needs (pre-dose readings, the incoming ids); the answers
    # must be those the whole record would give.
    sid = monitoring(db, ESK)  # baseline 128/82 at 09:05, dosing from 09:15
    late_pre_dose = reading(70, 12, systolic_mmhg=140, diastolic_mmhg=84)
    device_feed.receive_readings(db, device_ctx(30), sid, [late_pre_dose])
    many = [reading(100 + k, 21 + k * 0.5, **FULL_VITALS) for k in range(80)]
    device_feed.receive_readings(db, device_ctx(62), sid, many)
    # 175 is a 35 mmHg rise over the latest pre-dose 140, not the 47 over 128 at 09:05.
    results = device_feed.receive_readings(
        db, device_ctx(63), sid, [reading(300, 62, systolic_mmhg=175, diastolic_mmhg=90)]
    )
    assert results[0].status == "accepted"
    assert "bp-rise-over-baseline" not in results[0].alerts
    risen = device_feed.receive_readings(
        db, device_ctx(64), sid, [reading(301, 63, systolic_mmhg=181, diastolic_mmhg=90)]
    )
    assert "bp-rise-over-baseline" in risen[0].alerts  # 41 over 140
    assert sessions.get_session(db, at(64), sid).baseline().systolic_mmhg == 140
    # An id stored long before, and far back in the session, is still a duplicate.
    assert statuses(device_feed.receive_readings(db, device_ctx(64), sid, many[:1])) == [
        "duplicate"
    ]


def test_sessions_that_take_no_readings_reject_each_with_why(db: Session) -> None:
    sid = scheduled(db, IV)
    result = device_feed.receive_readings(db, device_ctx(1), sid, [reading(60, 0)])
    assert statuses(result) == ["rejected"]
    assert "Observations start at check-in" in (result[0].reason or "")
    done = discharged(db, ESK)
    sessions.sign(db, at(160), done)
    signed = device_feed.receive_readings(db, device_ctx(161), done, [reading(61, 140)])
    assert "signed" in (signed[0].reason or "")
    with pytest.raises(NotFound):
        device_feed.receive_readings(db, device_ctx(1), rid(99), [reading(62, 0)])
    with pytest.raises(InvalidInput, match="no readings"):
        device_feed.receive_readings(db, device_ctx(1), sid, [])


def test_a_failing_write_leaves_nothing(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    sid = checked_in(db, IV)
    before = stored(db, sid)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(device_feed, "record_event", broken)
    with pytest.raises(RuntimeError):
        device_feed.receive_readings(db, device_ctx(8), sid, [reading(70, 6), reading(71, 7)])
    assert stored(db, sid) == before


def test_device_tokens_are_stored_hashed_and_can_be_revoked(db: Session) -> None:
    device_id, token = device_feed.register_device(db, at(0, SYSTEM), "Chair 2 monitor")
    row = db.get(BedsideDeviceRow, device_id)
    assert row is not None
    assert token not in row.token_sha256
    assert len(row.token_sha256) == 64
    found = device_feed.device_actor(db, token)
    assert found is not None
    assert found[0] == device_id
    assert found[1].role == "device"
    assert device_feed.device_actor(db, token + "x") is None
    device_feed.revoke_device(db, at(1, SYSTEM), device_id)
    assert device_feed.device_actor(db, token) is None
    with pytest.raises(PermissionDenied):
        device_feed.register_device(db, at(2), "Rogue")


def test_two_copies_of_a_batch_at_once_store_each_reading_once(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as db:
        sid = monitoring(db, ESK)
        db.commit()
    batch = [reading(80 + n, 30 + n) for n in range(5)]
    barrier = threading.Barrier(2)
    outcomes: list[list[str]] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            with session_factory() as db:
                barrier.wait(timeout=10)
                results = device_feed.receive_readings(db, device_ctx(40), sid, batch)
                db.commit()
            outcomes.append(statuses(results))
        except BaseException as exc:  # reported below with the thread's error
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(outcomes) == [["accepted"] * 5, ["duplicate"] * 5]
    with session_factory() as db:
        assert stored(db, sid) == 1 + 5  # the baseline and the five readings, once each


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(order=st.permutations(list(range(6))), resend=st.lists(st.integers(0, 5), max_size=6))
def test_any_order_and_any_re_sends_store_each_reading_once(
    db: Session, order: list[int], resend: list[int]
) -> None:
    sid = checked_in(db, IV)
    base = stored(db, sid)
    first = [reading(200 + n, 6 + n) for n in order]
    device_feed.receive_readings(db, device_ctx(20), sid, first)
    again = device_feed.receive_readings(
        db, device_ctx(21), sid, [reading(200 + n, 6 + n) for n in resend] or first
    )
    assert set(statuses(again)) == {"duplicate"}
    assert stored(db, sid) == base + 6
    db.rollback()
