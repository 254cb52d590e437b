"""The Today board: the day's sessions grouped by chair or room, with timers and what is due.

Built on ``session_today.today_list`` (one audited read of the day's sessions) and the REMS
form summaries; this module only arranges them for the page and adds the patient names of the
REMS forms due (one audit entry for that read).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.services.audit import record_event
from ketaclinic.services.context import RequestContext
from ketaclinic.services.rems import form_summaries
from ketaclinic.services.session_today import TodayEntry, today_list
from ketaclinic.storage.tables.patients import PatientRow

UNASSIGNED = "No chair or room assigned"


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


def rems_forms_due(db: Session, ctx: RequestContext, day: date) -> list[RemsDue]:
    """REMS monitoring forms due or overdue on ``day``, with the patients' names."""
    summaries = [s for s in form_summaries(db, today=day) if s.status in ("due", "overdue")]
    ids = sorted({s.patient_id for s in summaries})
    names = {
        row.id: f"{row.given_name} {row.family_name}"
        for row in db.scalars(select(PatientRow).where(PatientRow.id.in_(ids)))
    }
    if summaries:
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


def today_board(db: Session, ctx: RequestContext, day: date, clinic_tz: tzinfo) -> TodayBoard:
    """The day's sessions by place (places in order of their first session), with timers."""
    places: dict[str, list[BoardLine]] = {}
    for entry in today_list(db, ctx, day, clinic_tz):
        line = BoardLine(entry, minutes_until(entry.next_checkpoint_at, ctx.now))
        places.setdefault(place_of(entry), []).append(line)
    return TodayBoard(
        day=day,
        as_of=ctx.now,
        places=[Place(name, lines) for name, lines in places.items()],
        rems_due=rems_forms_due(db, ctx, day),
    )
