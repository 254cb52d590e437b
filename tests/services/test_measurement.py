"""Questionnaire responses: scored by the engine, stored with every item answer, atomically."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaclinic.clinical.questionnaires import score
from ketaclinic.errors import InvalidInput, NotFound
from ketaclinic.services import measurement, patients
from ketaclinic.services.context import RequestContext
from ketaclinic.storage.database import SessionFactory, transaction
from ketaclinic.storage.tables.access import AuditEvent
from ketaclinic.storage.tables.measurements import (
    QuestionnaireItemAnswerRow,
    QuestionnaireResponseRow,
)


def _patient(factory: SessionFactory, ctx: RequestContext) -> str:
    with transaction(factory) as db:
        return patients.register_patient(
            db,
            ctx,
            {"given_name": "Tom", "family_name": "Reid", "date_of_birth": "1971-02-03", "sex": "M"},
        )


def _count(db: Session, table: type[object]) -> int:
    return db.scalar(select(func.count()).select_from(table)) or 0  # type: ignore[arg-type]


def test_phq9_response_is_stored_with_every_item_and_the_alert(
    session_factory: SessionFactory, ctx: RequestContext
) -> None:
    patient_id = _patient(session_factory, ctx)
    # PHQ-9 worked example: 2+2+1+2+1+1+1+0+1 = 11 (moderate, 10-14); item 9 = 1 raises the alert.
    answers = [2, 2, 1, 2, 1, 1, 1, 0, 1]
    with transaction(session_factory) as db:
        stored = measurement.record_questionnaire_response(db, ctx, patient_id, "phq9", answers)
    assert stored.result.total == 11
    with session_factory() as db:
        row = db.get(QuestionnaireResponseRow, stored.response_id)
        assert row is not None
        assert (row.instrument_id, row.total, row.severity) == ("phq9", 11, "moderate")
        assert row.definition_version == stored.result.version
        assert row.administered_at == ctx.now
        assert [a["id"] for a in row.alerts] == ["phq9-item9-suicide-risk"]
        items = measurement.item_answers(db, stored.response_id)
        assert list(items) == [f"q{n}" for n in range(1, 10)]
        assert list(items.values()) == answers
        assert db.scalars(
            select(AuditEvent.action).where(AuditEvent.entity_id == stored.response_id)
        ).all() == ["measurement.questionnaire.record"]


def test_invalid_answers_store_nothing(
    session_factory: SessionFactory, ctx: RequestContext
) -> None:
    patient_id = _patient(session_factory, ctx)
    with session_factory() as db:
        with pytest.raises(InvalidInput, match="q9"):
            measurement.record_questionnaire_response(
                db, ctx, patient_id, "phq9", [0, 0, 0, 0, 0, 0, 0, 0, 4]
            )
        with pytest.raises(InvalidInput):
            measurement.record_questionnaire_response(db, ctx, patient_id, "phq9", [0, 0, 0])
        with pytest.raises(NotFound, match="Unknown instrument"):
            measurement.record_questionnaire_response(db, ctx, patient_id, "phq99", [0])
        db.commit()
        assert _count(db, QuestionnaireResponseRow) == 0
        assert _count(db, QuestionnaireItemAnswerRow) == 0


def test_trajectory_is_ordered_by_administration_time(
    session_factory: SessionFactory, ctx: RequestContext
) -> None:
    patient_id = _patient(session_factory, ctx)
    week = timedelta(days=7)
    # Recorded out of order on purpose: baseline 20 (3 weeks ago), then 8, then 4 today.
    plan = [
        (ctx.now - week, [1, 1, 1, 1, 1, 1, 1, 1, 0]),
        (ctx.now - 3 * week, [3, 3, 2, 2, 2, 2, 2, 2, 2]),
    ]
    with transaction(session_factory) as db:
        for when, answers in plan:
            measurement.record_questionnaire_response(
                db, ctx, patient_id, "phq9", answers, administered_at=when
            )
        measurement.record_questionnaire_response(
            db, ctx, patient_id, "gad7", [1, 0, 1, 0, 1, 0, 1], administered_at=ctx.now - week
        )
        measurement.record_questionnaire_response(
            db, ctx, patient_id, "phq9", [1, 1, 0, 1, 0, 1, 0, 0, 0]
        )
    with session_factory() as db:
        trajectory = measurement.score_trajectory(db, patient_id, "phq9")
        everything = measurement.score_trajectories(db, patient_id)
    assert [p.total for p in trajectory] == [20, 8, 4]
    assert [p.administered_at for p in trajectory] == sorted(p.administered_at for p in trajectory)
    assert sorted(everything) == ["gad7", "phq9"]
    assert [p.total for p in everything["gad7"]] == [4]


def test_future_administration_time_is_refused(db: Session, ctx: RequestContext) -> None:
    with pytest.raises(InvalidInput, match="future"):
        measurement.record_questionnaire_response(
            db, ctx, "any", "phq9", [0] * 9, administered_at=ctx.now + timedelta(minutes=1)
        )


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(answers=st.lists(st.integers(min_value=0, max_value=3), min_size=9, max_size=9))
def test_any_valid_phq9_round_trips_item_by_item(
    db: Session, ctx: RequestContext, answers: list[int]
) -> None:
    patient_id = patients.register_patient(
        db,
        ctx,
        {"given_name": "Ann", "family_name": "Lee", "date_of_birth": "1990-01-01", "sex": "F"},
    )
    stored = measurement.record_questionnaire_response(db, ctx, patient_id, "phq9", answers)
    assert list(measurement.item_answers(db, stored.response_id).values()) == answers
    assert stored.result.total == sum(answers)
    db.rollback()


# PCL-5 answers meeting every DSM-5 cluster with a total of 22: a provisional diagnosis under the
# default rule (no total cut-off), none when the clinic adds the cited total cut-off of 31.
PCL5_CLUSTERS_MET_TOTAL_22 = [2, 2, 2, 0, 0, 2, 2, 2, 2, 2, 0, 0, 0, 0, 2, 2, 2, 0, 0, 0]


def test_stored_pcl5_rescored_from_items_and_settings_gives_the_same_result(
    session_factory: SessionFactory, ctx: RequestContext
) -> None:
    patient_id = _patient(session_factory, ctx)
    with transaction(session_factory) as db:
        stored = measurement.record_questionnaire_response(
            db, ctx, patient_id, "pcl5", PCL5_CLUSTERS_MET_TOTAL_22,
            cutoffs={"provisional_diagnosis": 31},
        )  # fmt: skip
    assert stored.result.total == 22
    assert stored.result.extras["provisional_diagnosis"] is False
    with transaction(session_factory) as db:
        row = db.get(QuestionnaireResponseRow, stored.response_id)
        assert row is not None
        settings_ = measurement.stored_settings(db, stored.response_id)
        again = measurement.rescore(db, stored.response_id)
        assert again.version == row.definition_version
        assert (again.total, again.severity) == (row.total, row.severity)
        assert again.extras == row.extras
        assert again.subscales == row.subscales
        assert [alert.model_dump() for alert in again.alerts] == row.alerts
    # The stored settings are what made the difference: the cut-off chosen, the other default.
    assert settings_.cutoffs == {"provisional_diagnosis": 31, "probable_ptsd": 33}
    assert again == stored.result
    default = score("pcl5", PCL5_CLUSTERS_MET_TOTAL_22)
    assert default.extras["provisional_diagnosis"] is True


def test_band_set_and_pre_dose_total_are_stored_and_reproduced(
    session_factory: SessionFactory, ctx: RequestContext
) -> None:
    patient_id = _patient(session_factory, ctx)
    nineteen = [4, 4, 4, 2, 2, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    with transaction(session_factory) as db:
        hamd = measurement.record_questionnaire_response(
            db, ctx, patient_id, "hamd17", nineteen, band_set="ids-qids-equivalence"
        )
        cadss = measurement.record_questionnaire_response(
            db, ctx, patient_id, "cadss", [1] * 5 + [0] * 18, baseline_total=5
        )
    with transaction(session_factory) as db:
        assert measurement.rescore(db, hamd.response_id) == hamd.result
        assert measurement.rescore(db, cadss.response_id) == cadss.result
        assert measurement.stored_settings(db, hamd.response_id).band_set == "ids-qids-equivalence"
    assert hamd.result.severity == "moderate"  # the default CamCOPS bands would say "severe"
    assert cadss.result.extras["dissociation"] is False  # no rise over the pre-dose 5


def test_rescoring_an_unknown_response_is_not_found(session_factory: SessionFactory) -> None:
    with transaction(session_factory) as db, pytest.raises(NotFound):
        measurement.rescore(db, "00000000-0000-4000-8000-000000000000")
