"""The demo clinic's screenings and plans: every decision class, every protocol, an override."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaclinic.clinical.protocols import get_protocol
from ketaclinic.services.context import SYSTEM, RequestContext
from ketaclinic.storage.database import SessionFactory, transaction
from ketaclinic.storage.tables.planning import (
    DoseLimitOverrideRow,
    EligibilityOverrideRow,
    PlanSessionRow,
    ScreeningRow,
    TreatmentPlanRow,
)
from ketaclinic.synthetic.demo import load_demo
from ketaclinic.synthetic.demo_plan import demo_id, plan_demo
from ketaclinic.synthetic.demo_plans import OVERRIDE_REASON

AS_OF = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
# Seed 5 with eight patients shows every decision class, every protocol and a missed session.
SEED, PATIENTS = 5, 8
TABLES = (ScreeningRow, EligibilityOverrideRow, TreatmentPlanRow, PlanSessionRow)


def _count(db: Session, table: type[object]) -> int:
    return db.scalar(select(func.count()).select_from(table)) or 0  # type: ignore[arg-type]


def test_demo_screenings_and_plans_cover_every_class_and_protocol(
    session_factory: SessionFactory,
) -> None:
    ctx = RequestContext(actor=SYSTEM, now=AS_OF)
    with transaction(session_factory) as db:
        first = load_demo(db, ctx, seed=SEED, patients_count=PATIENTS)
    with session_factory() as db:
        counts = {t: _count(db, t) for t in TABLES}
    with transaction(session_factory) as db:
        second = load_demo(db, ctx, seed=SEED, patients_count=PATIENTS)
    assert first.written["screenings and treatment plans"] > 0
    assert second.written["screenings and treatment plans"] == 0

    with session_factory() as db:
        assert {t: _count(db, t) for t in TABLES} == counts
        decisions = Counter(db.scalars(select(ScreeningRow.decision)))
        assert set(decisions) == {
            "eligible",
            "eligible-with-conditions",
            "not-eligible",
            "more-information-needed",
        }
        plans = db.scalars(select(TreatmentPlanRow)).all()
        assert {p.protocol_id for p in plans} >= {
            "iv-racemic-thrice-weekly",
            "iv-racemic-twice-weekly",
            "esketamine-trd",
            "im-racemic",
            "oral-racemic",
        }
        assert get_protocol("oral-racemic").experimental

        overrides = db.scalars(select(EligibilityOverrideRow)).all()
        assert overrides
        for override in overrides:
            assert override.reason == OVERRIDE_REASON
            assert override.prescriber_name.startswith("Dr ")
            original = db.get(ScreeningRow, override.screening_id)
            assert original is not None
            assert original.decision == "not-eligible"
        assert _count(db, DoseLimitOverrideRow) == 0  # every demo dose is within its limits

        statuses = Counter(db.scalars(select(PlanSessionRow.status)))
        assert statuses["missed"] >= 1
        assert statuses["rescheduled"] >= 1
        for plan in plans:
            screened = db.get(ScreeningRow, plan.screening_id)
            assert screened is not None
            # A plan rests on a screening that allowed it (directly or after an override).
            assert screened.decision in ("eligible", "eligible-with-conditions")
            if plan.status in ("signed", "active", "completed", "stopped"):
                assert plan.signed_by_name is not None
            done = db.scalars(
                select(PlanSessionRow.scheduled_on).where(
                    PlanSessionRow.plan_id == plan.id, PlanSessionRow.status == "done"
                )
            ).all()
            assert all(day < AS_OF.date() for day in done)


def test_demo_ids_come_from_the_seed_and_doses_follow_the_protocols(
    session_factory: SessionFactory,
) -> None:
    with transaction(session_factory) as db:
        load_demo(db, RequestContext(actor=SYSTEM, now=AS_OF), seed=SEED, patients_count=PATIENTS)
    people = {p.patient_id: p for p in plan_demo(SEED, AS_OF, PATIENTS)}
    with session_factory() as db:
        for plan in db.scalars(select(TreatmentPlanRow)):
            person = people[plan.patient_id]
            tag = "course" if plan.protocol_id == person.course.protocol_id else "next-step"
            assert plan.id == demo_id(SEED, "patient", person.index, "plan", tag)
            dose = plan.dose_json
            if plan.protocol_id == "im-racemic":
                # 0.5 mg/kg of the intake weight, drawn from 50 mg/mL, measured to 0.1 mL.
                mg = 0.5 * person.weight_kg
                assert dose["dose_mg"] == round(mg, 2)
                assert abs(dose["volume_ml"] - mg / 50) <= 0.05 + 1e-9
            if plan.protocol_id == "oral-racemic":
                assert dose["dose_mg"] == round(0.25 * person.weight_kg, 2)
                assert plan.status == "draft"
