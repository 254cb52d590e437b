"""The one way a session changes: load, apply a clinical-core step, persist, audit, atomically.

Every session use case (``services.sessions``, ``services.session_predose``) goes through
``apply_step``, so a refused step writes nothing, and every charted time passes ``charted_time``
(never in the future, always with a time zone).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ketaclinic.clinical.sessions import record as core
from ketaclinic.clinical.sessions.lifecycle import SessionEvent, transition
from ketaclinic.errors import InvalidInput
from ketaclinic.services.audit import record_event
from ketaclinic.services.context import RequestContext
from ketaclinic.services.session_store import ReadingOrigin, load_record, persist, session_row
from ketaclinic.storage.database import atomic

Step = Callable[[core.SessionRecord], core.SessionRecord]


def charted_time(ctx: RequestContext, at: datetime | None, field: str = "at") -> datetime:
    moment = at or ctx.now
    if moment.tzinfo is None:
        raise InvalidInput(f"{field} needs a time zone.", field=field)
    if moment > ctx.now:
        raise InvalidInput(f"{field} {moment.isoformat()} is in the future.", field=field)
    return moment


def apply_step(
    db: Session,
    ctx: RequestContext,
    session_id: str,
    action: str,
    step: Step,
    *,
    detail: Mapping[str, Any] | None = None,
    origins: Mapping[str, ReadingOrigin] | None = None,
    event: SessionEvent | None = None,
) -> core.SessionRecord:
    """Load, apply one core step, persist and audit, all or nothing.

    A lifecycle ``event`` is checked against the state machine first, so a step out of order is
    answered with the allowed next steps rather than with the first unmet detail.
    """
    with atomic(db):
        row = session_row(db, session_id, for_update=True)
        before = load_record(db, row)
        if event is not None:
            transition(before.state, event)
        after = step(before)
        row.updated_at = ctx.now
        persist(db, row, before, after, origins=origins)
        record_event(
            db, ctx.actor, f"session.{action}", "session", session_id,
            patient_id=row.patient_id, detail=dict(detail or {}) | {"state": after.state.value},
            now=ctx.now,
        )  # fmt: skip
    return after


def read_record(
    db: Session, ctx: RequestContext, session_id: str, action: str = "read"
) -> core.SessionRecord:
    """Load a session for a view; a read of patient data, so it writes an audit entry."""
    row = session_row(db, session_id)
    record = load_record(db, row)
    record_event(
        db, ctx.actor, f"session.{action}", "session", session_id, patient_id=row.patient_id,
        now=ctx.now,
    )  # fmt: skip
    return record
