"""The Today board: the day's sessions grouped by chair or room, with timers and what is due.

Built on ``session_today.today_list`` (the day's sessions) and the REMS form summaries; this
module arranges them for the page, adds the patient names of the REMS forms due, and writes one
audit entry for what the board shows (see ``today_board`` for how often a refresh writes it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.services.audit import record_event
from ketaclinic.services.context import RequestContext
from ketaclinic.services.rems import form_summaries
from ketaclinic.services.session_today import TodayEntry, today_list
from ketaclinic.storage.tables.access import AuditEvent
from ketaclinic.storage.tables.patients import PatientRow

UNASSIGNED = "No chair or room assigned"
BOARD_READ = "session.today.read"
# A board left open refreshes every 30 s; its read is written again at least this often (and at
# once when what it shows changes), so the trail still shows who had the board open, and when.
REFRESH_AUDIT_EVERY = timedelta(minutes=10)


@dataclass(frozen=True)
class BoardLine:
    entry: TodayEntry
    # Whole minutes from now to the next checkpoint; negative once it is overdue; None if none.
    minutes_to_next_checkpoint: int | None


@dataclass(frozen=True)
class Place:
    name: str
    lines: list[BoardLine]

    @property
    def open_alerts(self) -> int:
        return sum(line.entry.open_alerts for line in self.lines)


@dataclass(frozen=True)
class RemsDue:
    session_id: str
    patient_id: str
    patient_name: str
    due_date: date
    status: str
    missing: tuple[str, ...]


@dataclass(frozen=True)
class TodayBoard:
    day: date
    as_of: datetime
    places: list[Place]
    rems_due: list[RemsDue]

    @property
    def sessions(self) -> int:
        return sum(len(p.lines) for p in self.places)

    @property
    def open_alerts(self) -> int:
        return sum(p.open_alerts for p in self.places)


def place_of(entry: TodayEntry) -> str:
    """Chair first (where the nurse walks to), else room, else unassigned."""
    for value, word in ((entry.chair, "Chair"), (entry.room, "Room")):
        if value:
            # "3" reads as "Chair 3"; a name that already says what it is ("Chair 3") stays.
            return value if value.lower().startswith(word.lower()) else f"{word} {value}"
    return UNASSIGNED


def minutes_until(moment: datetime | None, now: datetime) -> int | None:
    """Whole minutes from ``now`` to ``moment``, rounded towards "sooner" (floor), so a timer
    never shows more time than is left."""
    if moment is None:
        return None
    return int((moment - now).total_seconds() // 60)


def rems_forms_due(
    db: Session, ctx: RequestContext, day: date, *, audit: bool = True
) -> list[RemsDue]:
    """REMS monitoring forms due or overdue on ``day``, with the patients' names."""
    summaries = [s for s in form_summaries(db, today=day) if s.status in ("due", "overdue")]
    ids = sorted({s.patient_id for s in summaries})
    names = {
        row.id: f"{row.given_name} {row.family_name}"
        for row in db.scalars(select(PatientRow).where(PatientRow.id.in_(ids)))
    }
    if summaries and audit:
        record_event(
            db,
            ctx.actor,
            "rems.due.read",
            "rems_form",
            None,
            detail={"day": day.isoformat(), "forms": len(summaries)},
            now=ctx.now,
        )
    return [
        RemsDue(
            s.session_id,
            s.patient_id,
            names.get(s.patient_id, s.patient_id),
            s.due_date,
            s.status,
            s.missing,
        )
        for s in summaries
    ]


def board_content(entries: list[TodayEntry], rems_due: list[RemsDue]) -> str:
    """A digest of what the board discloses: which sessions and patients, their state and open
    alerts, and the REMS forms listed. Timers are left out: they change every refresh."""
    shown = [[e.session_id, e.patient_id, e.state, e.open_alerts] for e in entries]
    forms = [[f.session_id, f.patient_id, f.status] for f in rems_due]
    text = json.dumps([shown, forms], separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _already_audited(db: Session, ctx: RequestContext, content: str) -> bool:
    """Whether this person's latest board entry, within ``REFRESH_AUDIT_EVERY``, showed the same."""
    if ctx.actor.user_id is None:
        return False
    detail = db.scalar(
        select(AuditEvent.detail_json)
        .where(
            AuditEvent.actor_user_id == ctx.actor.user_id,
            AuditEvent.action == BOARD_READ,
            AuditEvent.occurred_at >= ctx.now - REFRESH_AUDIT_EVERY,
        )
        .order_by(AuditEvent.sequence.desc())
        .limit(1)
    )
    return detail is not None and json.loads(detail).get("content") == content


def today_board(
    db: Session, ctx: RequestContext, day: date, clinic_tz: tzinfo, *, refresh: bool = False
) -> TodayBoard:
    """The day's sessions by place (places in order of their first session), with timers.

    One audit entry for everything the board shows. Opening the board always writes it; a
    ``refresh`` (the page's own polling every 30 seconds) writes it only when the content changed
    or the person's last board entry is older than ``REFRESH_AUDIT_EVERY``, so an open screen
    does not add thousands of identical entries a day.
    """
    entries = today_list(db, ctx, day, clinic_tz, audit=False)
    rems_due = rems_forms_due(db, ctx, day, audit=False)
    content = board_content(entries, rems_due)
    if not (refresh and _already_audited(db, ctx, content)):
        record_event(
            db, ctx.actor, BOARD_READ, "session", None,
            detail={
                "day": day.isoformat(), "sessions": len(entries), "rems_forms_due": len(rems_due),
                "patients": len({e.patient_id for e in entries} | {f.patient_id for f in rems_due}),
                "content": content, "refresh": refresh,
            },
            now=ctx.now,
        )  # fmt: skip
    places: dict[str, list[BoardLine]] = {}
    for entry in entries:
        line = BoardLine(entry, minutes_until(entry.next_checkpoint_at, ctx.now))
        places.setdefault(place_of(entry), []).append(line)
    return TodayBoard(
        day=day,
        as_of=ctx.now,
        places=[Place(name, lines) for name, lines in places.items()],
        rems_due=rems_due,
    )
