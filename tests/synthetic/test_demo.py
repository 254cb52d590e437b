"""The synthetic demo clinic: deterministic, consistent with its own plan, idempotent to load."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaclinic.clinical.outcomes import is_response, response_threshold
from ketaclinic.clinical.questionnaires import score
from ketaclinic.services.context import RequestContext
from ketaclinic.services.patients import get_patient_summary
from ketaclinic.storage.database import SessionFactory, transaction
from ketaclinic.storage.tables.measurements import (
    ObservationRow,
    QuestionnaireItemAnswerRow,
    QuestionnaireResponseRow,
)
from ketaclinic.storage.tables.patients import PatientRow
from ketaclinic.synthetic.cohort_model import resolve_courses
from ketaclinic.synthetic.demo import load_demo
from ketaclinic.synthetic.demo_plan import plan_demo, plan_patient, spread_total

AS_OF = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)


def test_same_seed_same_clinic_other_seed_other_clinic() -> None:
    first, again = plan_demo(7, AS_OF, 6), plan_demo(7, AS_OF, 6)
    assert first == again
    other = plan_demo(8, AS_OF, 6)
    assert {p.patient_id for p in first}.isdisjoint({p.patient_id for p in other})
    assert [p.identity for p in first] != [p.identity for p in other]


def test_adding_patients_keeps_the_earlier_ones() -> None:
    assert plan_demo(3, AS_OF, 4) == plan_demo(3, AS_OF, 9)[:4]


def test_plan_is_clinically_consistent() -> None:
    for person in plan_demo(5, AS_OF, 30):
        assert person.mrn.startswith("DEMO-5-")
        assert person.escort["role"] == "escort"
        assert person.escort["phone"]
        assert person.intake_at < person.course.first_session_at
        conditions = {d["condition"] for d in person.diagnoses}
        # TRD is a derived fact here too: a TRD diagnosis comes with two or more failed trials.
        if "trd" in conditions:
            assert person.intended_failed_trials >= 2
        else:
            assert person.intended_failed_trials <= 1
        for planned in person.scores:
            assert planned.administered_at <= AS_OF
            result = score(planned.instrument, list(planned.answers))
            assert result.total == sum(planned.answers)
            if planned.instrument == "phq9" and "suicidal-ideation" not in conditions:
                assert planned.answers[8] == 0 or sum(planned.answers) > 24


def test_end_of_induction_response_rate_follows_the_published_targets() -> None:
    # Far enough after the window that every course has its end-of-induction score.
    as_of = AS_OF + timedelta(days=120)
    courses = {c.id: c for c in resolve_courses()}
    responders, expected = [], []
    for person in plan_demo(11, as_of, 400):
        course = courses[person.course.course_type]
        by_day = {
            s.course_day: sum(s.answers) for s in person.scores if s.instrument == course.instrument
        }
        end_day = course.session_days[-1] + 1
        if end_day not in by_day:
            continue  # dropped out before the end of induction
        rule = response_threshold(course.instrument)
        responders.append(is_response(rule, by_day[0], by_day[end_day]))
        expected.append(course.targets.end_of_induction.response)
    n = len(responders)
    observed, target = float(np.mean(responders)), float(np.mean(expected))
    standard_error = (target * (1 - target) / n) ** 0.5
    assert n > 250
    assert abs(observed - target) < 4 * standard_error


@given(
    maxima=st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=12),
    data=st.data(),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_spread_total_hits_the_total_within_each_item_range(
    maxima: list[int], data: st.DataObject, seed: int
) -> None:
    total = data.draw(st.integers(min_value=0, max_value=sum(maxima)))
    answers = spread_total(np.random.default_rng(seed), maxima, total)
    assert sum(answers) == total
    assert all(0 <= a <= top for a, top in zip(answers, maxima, strict=True))


def test_spread_total_refuses_an_impossible_total() -> None:
    with pytest.raises(ValueError, match="outside"):
        spread_total(np.random.default_rng(0), [3, 3], 7)


def _count(db: Session, table: type[object]) -> int:
    return db.scalar(select(func.count()).select_from(table)) or 0  # type: ignore[arg-type]


def test_load_twice_adds_nothing_and_matches_the_plan(
    session_factory: SessionFactory, ctx: RequestContext
) -> None:
    ctx = RequestContext(actor=ctx.actor, now=AS_OF)
    with transaction(session_factory) as db:
        first = load_demo(db, ctx, seed=2, patients_count=10)
    tables = (PatientRow, ObservationRow, QuestionnaireResponseRow, QuestionnaireItemAnswerRow)
    with session_factory() as db:
        counts = {t: _count(db, t) for t in tables}
    with transaction(session_factory) as db:
        second = load_demo(db, ctx, seed=2, patients_count=10)
    with session_factory() as db:
        assert {t: _count(db, t) for t in tables} == counts

    plan = plan_demo(2, AS_OF, 10)
    assert first.patients_new == 10
    assert second.patients_new == 0
    assert sum(second.written.values()) == 0
    assert counts[PatientRow] == 10
    assert counts[QuestionnaireResponseRow] == sum(len(p.scores) for p in plan)
    with session_factory() as db:
        assert db.scalars(select(PatientRow.is_synthetic)).all() == [True] * 10
        for person in plan:
            summary = get_patient_summary(db, ctx, person.patient_id)
            # The count is derived from the stored trials by the treatment-resistance rules.
            assert summary.adequate_failed_trials == person.intended_failed_trials
            assert summary.latest_weight_kg == pytest.approx(person.weight_kg)
            assert summary.escort is not None


def test_loading_more_patients_later_only_adds_the_new_ones(
    session_factory: SessionFactory, ctx: RequestContext
) -> None:
    ctx = RequestContext(actor=ctx.actor, now=AS_OF)
    with transaction(session_factory) as db:
        load_demo(db, ctx, seed=4, patients_count=3)
    with transaction(session_factory) as db:
        report = load_demo(db, ctx, seed=4, patients_count=5)
    assert report.patients_new == 2
    with session_factory() as db:
        assert _count(db, PatientRow) == 5
    assert plan_patient(4, 0, AS_OF).mrn == "DEMO-4-001"


def test_reloading_on_a_later_day_keeps_the_first_clinic_date(
    session_factory: SessionFactory, ctx: RequestContext
) -> None:
    with transaction(session_factory) as db:
        load_demo(db, RequestContext(actor=ctx.actor, now=AS_OF), seed=6, patients_count=3)
    later = RequestContext(actor=ctx.actor, now=AS_OF + timedelta(days=40))
    with transaction(session_factory) as db:
        report = load_demo(db, later, seed=6, patients_count=3)
    assert report.as_of == AS_OF
    assert sum(report.written.values()) == 0


def test_demo_refuses_instruments_whose_total_is_not_the_item_sum() -> None:
    from ketaclinic.synthetic.demo_plan import _answers

    # QIDS-SR16 takes the maximum within domains, so a total cannot be spread item by item.
    with pytest.raises(ValueError, match="plain-sum"):
        _answers(np.random.default_rng(0), "qids-sr16", 10, suicidal=False)
