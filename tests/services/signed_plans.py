"""A screened patient with a signed plan, built through the real services (for booking tests).

    plan = signed_plan(db)                          # IV thrice weekly from Wednesday 4 March 2026
    plan = signed_plan(db, ESK_PROTOCOL, "esketamine-intranasal")

The clinic day is Monday 2 March 2026 (support.clinic.CLINIC_NOW); the IV calendar is Wed 4,
Fri 6, Mon 9, Wed 11, Fri 13, Mon 16 March (tests/services/test_planning.py works it by hand).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy.orm import Session

from ketaclinic.services import consents, planning, screening
from ketaclinic.services.plan_records import PlanRecord
from services.screened_patients import STATED_ALL_CLEAR, make_known_patient
from support.clinic import CLINIC_NOW, NURSE, PRESCRIBER, context

IV3 = "iv-racemic-thrice-weekly"
ESK_PROTOCOL = "esketamine-trd"
WED_4_MARCH = date(2026, 3, 4)


def signed_plan(
    db: Session,
    protocol_id: str = IV3,
    treatment: str = "racemic-iv-im",
    start: date = WED_4_MARCH,
    *,
    sign: bool = True,
    now: datetime = CLINIC_NOW,
) -> PlanRecord:
    ctx = context(NURSE, now)
    doctor = context(PRESCRIBER, now)
    pid = make_known_patient(db, ctx)
    consents.record_consent(db, ctx, pid, "treatment")
    screening.screen_patient(db, doctor, pid, treatment, STATED_ALL_CLEAR)
    plan = planning.create_plan(db, doctor, pid, protocol_id, start)
    return planning.sign_plan(db, doctor, plan.plan_id) if sign else plan


def at_nine(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)
