"""The demo prescriber's follow-up of positive suicide screens, through the safety task services.

    follow_up_suicide_screens(db, people, now) -> tasks completed

A positive PHQ-9 item 9 or C-SSRS screener creates a same-day risk-assessment task and a flag
(``services.safety``). A real clinic does those assessments the same day, so the demo completes
the tasks (and resolves their flags) raised before yesterday with a note of what was done; the
positives of yesterday and today stay open on the Today page. Everything else (a serious adverse
event's report, a bladder referral, a misuse review) is left open for the user to act on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketaclinic.clinical.safety.tasks import FlagKind, TaskKind
from ketaclinic.services import safety_tasks
from ketaclinic.services.context import RequestContext
from ketaclinic.storage.tables.safety import SafetyFlagRow, SafetyTaskRow
from ketaclinic.synthetic.demo_data import PRESCRIBER
from ketaclinic.synthetic.demo_plan import DemoPatient

ASSESSED = (
    "Same-day risk assessment: passive thoughts, no plan or intent; protective factors and the "
    "safety plan reviewed with the patient; crisis line and escort confirmed."
)


def follow_up_suicide_screens(db: Session, people: Sequence[DemoPatient], now: datetime) -> int:
    """Complete the risk assessments (and resolve their flags) raised before yesterday."""
    before = datetime.combine(now.date() - timedelta(days=1), time(0, 0), tzinfo=now.tzinfo)
    ids = [p.patient_id for p in people]
    tasks = db.scalars(
        select(SafetyTaskRow).where(
            SafetyTaskRow.patient_id.in_(ids),
            SafetyTaskRow.kind == TaskKind.SUICIDE_RISK_ASSESSMENT.value,
            SafetyTaskRow.status == "open",
            SafetyTaskRow.due_at < before,
        )
    ).all()
    for task in tasks:
        # Done the same day, within the hour of the screen (due at the end of the screen's day).
        at = RequestContext(PRESCRIBER, min(task.due_at, task.created_at + timedelta(hours=1)))
        safety_tasks.complete_task(db, at, task.id, note=ASSESSED)
    flags = db.scalars(
        select(SafetyFlagRow).where(
            SafetyFlagRow.patient_id.in_(ids),
            SafetyFlagRow.kind == FlagKind.SUICIDE_SCREEN_POSITIVE.value,
            SafetyFlagRow.status == "open",
            SafetyFlagRow.raised_at < before,
        )
    ).all()
    for flag in flags:
        at = RequestContext(PRESCRIBER, flag.created_at + timedelta(hours=1))
        safety_tasks.resolve_flag(db, at, flag.id, note="Reviewed at the same-day risk assessment.")
    return len(tasks)
