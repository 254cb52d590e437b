"""The demo clinic's sessions: every state on the Today board and in the past, alerts open and
acknowledged, adverse events (one serious), REMS forms in every status, bladder and misuse flags;
deterministic and idempotent on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical.sessions.lifecycle import SessionState
from ketaclinic.services import rems, safety, session_today
from ketaclinic.services.context import SYSTEM, RequestContext
from ketaclinic.storage.tables.sessions import SessionAlertRow, SupervisedSessionRow
from ketaclinic.synthetic.demo import load_demo
from ketaclinic.synthetic.demo_plan import demo_id
from ketaclinic.synthetic.demo_sessions import ESK_SCENARIOS, IV_SCENARIOS

AS_OF = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
PATIENTS = 24


def _load(db: Session) -> dict[str, int]:
    report = load_demo(db, RequestContext(SYSTEM, AS_OF), seed=1, patients_count=PATIENTS)
    db.commit()
    return dict(report.written)


def test_demo_sessions_cover_every_state_and_safety_signal(db: Session) -> None:
    written = _load(db)
    assert written["supervised sessions"] == len(ESK_SCENARIOS) + len(IV_SCENARIOS)
    rows = db.scalars(select(SupervisedSessionRow)).all()
    assert {r.state for r in rows} == {s.value for s in SessionState}
    expected_ids = {demo_id(1, "session", name) for name, _, _ in (*ESK_SCENARIOS, *IV_SCENARIOS)}
    assert {r.id for r in rows} == expected_ids

    board = session_today.today_list(db, RequestContext(SYSTEM, AS_OF), AS_OF.date(), UTC)
    in_progress = {e.state for e in board}
    assert {"checked-in", "predose-passed", "dosing", "monitoring", "ready-for-discharge"} <= (
        in_progress
    )
    assert sum(e.open_alerts for e in board) >= 1

    alerts = db.scalars(select(SessionAlertRow)).all()
    assert any(a.acknowledged_at is None for a in alerts)
    acknowledged = [a for a in alerts if a.acknowledged_at is not None]
    assert acknowledged
    assert all(a.acknowledgement_note for a in acknowledged)

    events = safety.adverse_events(db)
    assert any(e.is_serious for e in events)
    assert any(not e.is_serious for e in events)
    kinds = {t.kind for t in safety.open_tasks(db)}
    assert {"serious-ae-report", "serious-ae-medical-review", "bladder-referral"} <= kinds
    flags = {f.kind for f in safety.open_flags(db)}
    assert {"bladder-worsening", "misuse-signal", "serious-adverse-event"} <= flags

    statuses = {s.status for s in rems.form_summaries(db, today=AS_OF.date())}
    assert statuses == {"due", "submitted", "overdue"}
    signed = [r for r in rows if r.signed_at is not None]
    assert {r.state for r in signed} == {"discharged", "aborted"}


def test_demo_sessions_load_once_and_times_are_fixed_by_the_clinic_date(db: Session) -> None:
    _load(db)
    first = {r.id: (r.state, r.scheduled_for) for r in db.scalars(select(SupervisedSessionRow))}
    later = load_demo(
        db, RequestContext(SYSTEM, AS_OF + timedelta(days=3)), seed=1, patients_count=PATIENTS
    )
    db.commit()
    assert later.written["supervised sessions"] == 0
    again = {r.id: (r.state, r.scheduled_for) for r in db.scalars(select(SupervisedSessionRow))}
    assert again == first
