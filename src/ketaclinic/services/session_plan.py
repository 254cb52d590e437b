"""What a supervised session's signed plan says: its protocol, its calendar entry, its dose.

A session booked from a plan carries the calendar entry it carries out (``plan_session_id``); the
plan version that entry belongs to gives the protocol (device size and spacing, limits) and the
dose. Nothing here is typed at the chair.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from ketaclinic.clinical.protocols import Protocol, get_protocol
from ketaclinic.clinical.sessions import mar
from ketaclinic.clinical.sessions import record as core
from ketaclinic.storage.tables.planning import PlanSessionRow, TreatmentPlanRow
from ketaclinic.storage.tables.sessions import SupervisedSessionRow


@dataclass(frozen=True)
class PlanLink:
    """The plan version and the calendar entry a session was booked from."""

    plan: TreatmentPlanRow
    entry: PlanSessionRow


def plan_link(db: Session, row: SupervisedSessionRow) -> PlanLink | None:
    if row.plan_session_id is None:
        return None
    entry = db.get(PlanSessionRow, row.plan_session_id)
    if entry is None:
        return None
    plan = db.get(TreatmentPlanRow, entry.plan_id)
    return None if plan is None else PlanLink(plan=plan, entry=entry)


def session_protocol(db: Session, row: SupervisedSessionRow) -> Protocol | None:
    """The session's protocol: its plan's, else the one it was scheduled with (None if neither)."""
    link = plan_link(db, row)
    protocol_id = link.plan.protocol_id if link is not None else row.protocol_id
    return get_protocol(protocol_id) if protocol_id else None


def early_devices(protocol: Protocol | None, record: core.SessionRecord) -> list[mar.EarlyDevice]:
    """Nasal devices given sooner after the previous one than the protocol's spacing (the label's
    5 minutes, from the protocol data); empty when nothing is known to compare with."""
    if protocol is None or protocol.devices is None or record.dosing is None:
        return []
    return record.dosing.early_devices(protocol.devices.spacing_minutes)
