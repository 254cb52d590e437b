"""Patient record use cases on SQLite and PostgreSQL: writes, audit, summary, all-or-nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketaclinic.clinical.vocabulary import ConditionId, MedicationClass
from ketaclinic.errors import InvalidInput, NotFound
from ketaclinic.services import patients
from ketaclinic.services.context import RequestContext
from ketaclinic.storage.database import SessionFactory, transaction
from ketaclinic.storage.tables.access import AuditEvent
from ketaclinic.storage.tables.measurements import ObservationRow
from ketaclinic.storage.tables.patients import PatientRow

MARIA = {
    "given_name": "Maria",
    "family_name": "Lopez",
    "date_of_birth": "1984-07-19",
    "sex": "F",
}


def _count(db: Session, table: type[object]) -> int:
    return db.scalar(select(func.count()).select_from(table)) or 0  # type: ignore[arg-type]


def _register(factory: SessionFactory, ctx: RequestContext, mrn: str = "K-0001") -> str:
    with transaction(factory) as db:
        return patients.register_patient(
            db, ctx, MARIA, {"phone": "+34 600 111 222", "country": "ES"}, mrn=mrn
        )


def test_register_stores_identity_and_writes_an_audit_entry(
    session_factory: SessionFactory, ctx: RequestContext
) -> None:
    patient_id = _register(session_factory, ctx)
    with session_factory() as db:
        row = db.get(PatientRow, patient_id)
        assert row is not None
        assert (row.given_name, row.mrn, row.country, row.sex) == ("Maria", "K-0001", "ES", "F")
        assert row.created_at == ctx.now
        events = db.scalars(select(AuditEvent).where(AuditEvent.entity_id == patient_id)).all()
        assert [e.action for e in events] == ["patient.register"]
        assert events[0].actor_role == ctx.actor.role


def test_duplicate_clinic_number_is_refused_and_nothing_written(
    session_factory: SessionFactory, ctx: RequestContext
) -> None:
    _register(session_factory, ctx)
    with (
        pytest.raises(InvalidInput, match="K-0001 is already used"),
        transaction(session_factory) as db,
    ):
        patients.register_patient(db, ctx, MARIA | {"given_name": "Marta"}, mrn="K-0001")
    with session_factory() as db:
        assert _count(db, PatientRow) == 1
        assert _count(db, AuditEvent) == 1


def test_one_impossible_vital_refuses_the_whole_set(
    session_factory: SessionFactory, ctx: RequestContext
) -> None:
    patient_id = _register(session_factory, ctx)
    taken = ctx.now - timedelta(minutes=5)
    with pytest.raises(InvalidInput, match="Diastolic"), transaction(session_factory) as db:
        patients.record_vitals(
            db, ctx, patient_id, {"systolic_mmhg": 128, "diastolic_mmhg": 800}, taken
        )
    with session_factory() as db:
        assert _count(db, ObservationRow) == 0


def test_failing_step_inside_a_larger_transaction_leaves_nothing_of_itself(
    session_factory: SessionFactory, ctx: RequestContext
) -> None:
    patient_id = _register(session_factory, ctx)
    with transaction(session_factory) as db:
        patients.add_diagnosis(db, ctx, patient_id, {"condition": "mdd"})
        # The duplicate id makes the second write fail at the database, after validation passed.
        first = patients.add_allergy(db, ctx, patient_id, {"substance": "penicillin"})
        with pytest.raises(IntegrityError):
            patients.add_allergy(db, ctx, patient_id, {"substance": "latex"}, record_id=first)
    with session_factory() as db:
        summary = patients.get_patient_summary(db, ctx, patient_id)
    assert [a.substance for a in summary.allergies] == ["penicillin"]
    assert [d.condition for d in summary.diagnoses] == [ConditionId.MAJOR_DEPRESSION]


def test_summary_derives_trd_count_bmi_age_and_medication_classes(
    session_factory: SessionFactory, ctx: RequestContext
) -> None:
    patient_id = _register(session_factory, ctx)
    with transaction(session_factory) as db:
        patients.add_contact(
            db,
            ctx,
            patient_id,
            {"role": "escort", "name": "Luis Lopez", "relationship": "brother", "phone": "+34 1"},
        )
        patients.add_diagnosis(db, ctx, patient_id, {"condition": "trd", "status": "active"})
        patients.add_medication(
            db,
            ctx,
            patient_id,
            {
                "drug_name": "lorazepam",
                "dose_amount": 1,
                "dose_unit": "mg",
                "frequency": "at night",
            },
        )
        patients.add_medication(
            db,
            ctx,
            patient_id,
            {"drug_name": "sertraline", "started_on": "2024-01-01", "stopped_on": "2025-01-01"},
        )
        # Two distinct drugs, long enough at high enough doses, no response: 2 adequate failures.
        # (Adequacy thresholds come from the drug catalogue; these doses and 8 weeks exceed them.)
        patients.add_antidepressant_trial(
            db,
            ctx,
            patient_id,
            {
                "drug": "sertraline",
                "dose_mg_per_day": 200,
                "duration_weeks": 12,
                "outcome": "no-response",
            },
        )
        patients.add_antidepressant_trial(
            db,
            ctx,
            patient_id,
            {
                "drug": "venlafaxine",
                "dose_mg_per_day": 225,
                "duration_weeks": 10,
                "outcome": "partial-response",
            },
        )
        # A trial that worked is not a failure; one with an unknown dose is not assessable.
        patients.add_antidepressant_trial(
            db,
            ctx,
            patient_id,
            {
                "drug": "bupropion",
                "dose_mg_per_day": 300,
                "duration_weeks": 12,
                "outcome": "response",
            },
        )
        patients.add_antidepressant_trial(
            db,
            ctx,
            patient_id,
            {"drug": "escitalopram", "duration_weeks": 8, "outcome": "no-response"},
        )
        patients.add_allergy(
            db, ctx, patient_id, {"substance": "penicillin", "severity": "moderate"}
        )
        earlier = ctx.now - timedelta(days=60)
        patients.record_vitals(db, ctx, patient_id, {"weight_kg": 90, "height_cm": 180}, earlier)
        patients.record_vital(db, ctx, patient_id, "weight_kg", 81, ctx.now - timedelta(hours=1))
    with session_factory() as db:
        summary = patients.get_patient_summary(db, ctx, patient_id)
    assert summary.adequate_failed_trials == 2
    assert summary.age_years == 41  # born 19 July 1984, seen 2 March 2026
    assert summary.latest_weight_kg == 81
    assert summary.bmi_kg_per_m2 == pytest.approx(25.0)  # 81 / 1.8^2
    assert MedicationClass.BENZODIAZEPINE in summary.current_medication_classes
    assert [m.drug_name for m in summary.past_medications] == ["sertraline"]
    assert summary.escort is not None
    assert summary.escort.name == "Luis Lopez"
    assert summary.allergies[0].severity == "moderate"


def test_update_demographics_audits_the_changed_fields(
    session_factory: SessionFactory, ctx: RequestContext
) -> None:
    patient_id = _register(session_factory, ctx)
    with transaction(session_factory) as db:
        patients.update_demographics(
            db, ctx, patient_id, identity=MARIA | {"family_name": "Lopez Vidal"}
        )
    with session_factory() as db:
        row = db.get(PatientRow, patient_id)
        assert row is not None
        assert row.family_name == "Lopez Vidal"
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "patient.update")).one()
        assert "family_name" in event.detail_json


def test_unknown_patient_is_not_found(db: Session, ctx: RequestContext) -> None:
    with pytest.raises(NotFound, match="No patient"):
        patients.add_diagnosis(
            db, ctx, "00000000-0000-0000-0000-000000000000", {"condition": "mdd"}
        )


def test_future_or_naive_observation_times_are_refused(
    session_factory: SessionFactory, ctx: RequestContext
) -> None:
    patient_id = _register(session_factory, ctx)
    with session_factory() as db:
        with pytest.raises(InvalidInput, match="future"):
            patients.record_vital(
                db, ctx, patient_id, "heart_rate_bpm", 70, ctx.now + timedelta(hours=1)
            )
        with pytest.raises(InvalidInput, match="time zone"):
            patients.record_vital(
                db, ctx, patient_id, "heart_rate_bpm", 70, datetime(2026, 3, 2, 9)
            )


def test_other_observation_needs_code_and_unit(
    session_factory: SessionFactory, ctx: RequestContext
) -> None:
    patient_id = _register(session_factory, ctx)
    with transaction(session_factory) as db:
        with pytest.raises(InvalidInput, match="unit"):
            patients.record_observation(db, ctx, patient_id, "alt", 31, " ", ctx.now)
        with pytest.raises(InvalidInput, match="record_vitals"):
            patients.record_observation(db, ctx, patient_id, "weight_kg", 80, "kg", ctx.now)
        patients.record_observation(
            db, ctx, patient_id, "alt", 31, "U/L", ctx.now, loinc_code="1742-6"
        )
    with session_factory() as db:
        row = db.scalars(select(ObservationRow)).one()
        assert (row.kind, row.value, row.unit, row.observed_at) == ("alt", 31, "U/L", ctx.now)


def test_registration_refuses_a_future_birth_date(db: Session, ctx: RequestContext) -> None:
    future = (ctx.now + timedelta(days=1)).date().isoformat()
    with pytest.raises(InvalidInput, match="future"):
        patients.register_patient(db, ctx, MARIA | {"date_of_birth": future})
    assert date.fromisoformat(future) > ctx.now.date()
    assert ctx.now.tzinfo is UTC


def test_list_patients_sorts_by_name_and_searches_names_and_clinic_numbers(
    session_factory: SessionFactory, ctx: RequestContext
) -> None:
    people = [("Zoe", "Abara", "K-3"), ("Liam", "Murphy", "K-1"), ("Ana", "Murphy", "K-2")]
    with transaction(session_factory) as db:
        for given, family, mrn in people:
            patients.register_patient(
                db, ctx, MARIA | {"given_name": given, "family_name": family}, mrn=mrn
            )
    with session_factory() as db:
        everyone = patients.list_patients(db)
        murphys = patients.list_patients(db, search="murPHY")
        by_number = patients.list_patients(db, search="k-3")
        with pytest.raises(InvalidInput, match="limit"):
            patients.list_patients(db, limit=0)
    assert [p.display_name for p in everyone] == ["Abara, Zoe", "Murphy, Ana", "Murphy, Liam"]
    assert [p.mrn for p in murphys] == ["K-2", "K-1"]
    assert [p.display_name for p in by_number] == ["Abara, Zoe"]
