"""The synthetic demo clinic as a plan and loaded small: deterministic, consistent with itself,
scored by the engine, idempotent to load (the default size is checked in test_demo_default.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaclinic.clinical.outcomes import is_response, response_threshold
from ketaclinic.clinical.questionnaires import get_instrument, score
from ketaclinic.services.context import RequestContext
from ketaclinic.services.patients import get_patient_summary
from ketaclinic.storage.database import (
    SessionFactory,
    make_engine,
    make_session_factory,
    transaction,
)
from ketaclinic.storage.tables.measurements import (
    ObservationRow,
    QuestionnaireItemAnswerRow,
    QuestionnaireResponseRow,
)
from ketaclinic.storage.tables.patients import PatientRow
from ketaclinic.storage.tables.planning import PlanSessionRow, ScreeningRow, TreatmentPlanRow
from ketaclinic.storage.tables.sessions import SupervisedSessionRow
from ketaclinic.synthetic.cohort_model import resolve_courses
from ketaclinic.synthetic.demo import load_demo, loaded_demos
from ketaclinic.synthetic.demo_answers import answers_for_total, spread_total
from ketaclinic.synthetic.demo_data import demo_data
from ketaclinic.synthetic.demo_plan import ARRIVALS_FROM, plan_demo, plan_patient
from support.databases import DatabaseProvider

AS_OF = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
# Instruments the demo samples totals for (plain sums, and QIDS-SR16 with its domain maxima).
SAMPLED = ("phq9", "gad7", "madrs", "qids-sr16", "pcl5")


def _without(instrument_id: str, item_id: str) -> int:
    """The highest total an instrument reaches with one item at 0."""
    instrument = get_instrument(instrument_id)
    top = next(i.max_value for i in instrument.items if i.id == item_id)
    return int(instrument.max_total - top)


def test_same_seed_same_clinic_other_seed_other_clinic() -> None:
    first, again = plan_demo(7, AS_OF, 6), plan_demo(7, AS_OF, 6)
    assert first == again
    other = plan_demo(8, AS_OF, 6)
    assert {p.patient_id for p in first}.isdisjoint({p.patient_id for p in other})
    assert [p.identity for p in first] != [p.identity for p in other]


def test_adding_patients_keeps_the_earlier_ones() -> None:
    assert plan_demo(3, AS_OF, 4)[:4] == plan_demo(3, AS_OF, 9)[:4]


def test_a_later_day_adds_arrivals_and_keeps_everyone_else() -> None:
    now = AS_OF + timedelta(days=30)
    later = plan_demo(3, AS_OF, 6, now=now)
    assert later[:6] == plan_demo(3, AS_OF, 6, now=AS_OF)[:6]
    arrivals = later[6:]
    assert all(p.index >= ARRIVALS_FROM and p.intake_at <= now for p in arrivals)
    assert all(p.course.first_session_at > AS_OF for p in arrivals)
    # Courses started since the month at the yaml's rate; others are booked to start soon.
    started = [p for p in arrivals if p.course.first_session_at.date() <= now.date()]
    assert abs(len(started) - demo_data().arrivals_per_week * 30 / 7) <= 1
    assert len(arrivals) > len(started)


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
        suicide_items = demo_data().suicide_items
        for planned in person.scores:
            assert planned.administered_at >= person.intake_at
            result = score(planned.instrument, list(planned.answers))  # refuses invalid answers
            item = suicide_items.get(planned.instrument)
            if item and "suicidal-ideation" not in conditions:
                value = result.item_answers[item]
                assert value == 0 or result.total > _without(planned.instrument, item)
        cssrs = [s for s in person.scores if s.instrument == "cssrs-screener"]
        assert len(cssrs) == 1
        assert (sum(cssrs[0].answers) > 0) == ("suicidal-ideation" in conditions)


def test_end_of_induction_response_rate_follows_the_published_targets() -> None:
    courses = {c.id: c for c in resolve_courses()}
    responders, expected = [], []
    for person in plan_demo(11, AS_OF, 400):
        course = courses[person.course.course_type]
        by_day = {
            s.course_day: sum(s.answers)
            for s in person.scores
            if s.instrument == course.instrument and not s.by_patient
        }
        end_day = course.session_days[-1] + 1
        if end_day not in by_day:
            continue  # dropped out before the end of induction, or never treated
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


@pytest.mark.parametrize("instrument", SAMPLED)
@given(data=st.data(), seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_answers_score_to_the_wanted_total_through_the_engine(
    instrument: str, data: st.DataObject, seed: int
) -> None:
    top = get_instrument(instrument).max_total
    total = data.draw(st.integers(min_value=0, max_value=int(top)))
    quiet = demo_data().suicide_items.get(instrument)
    answers = answers_for_total(
        np.random.default_rng(seed), instrument, total, quiet_items={quiet} if quiet else ()
    )
    result = score(instrument, list(answers))
    assert result.total == total
    if quiet and total <= _without(instrument, quiet):
        assert result.item_answers[quiet] == 0


def _count(db: Session, table: type[object]) -> int:
    return db.scalar(select(func.count()).select_from(table)) or 0  # type: ignore[arg-type]


@contextmanager
def _sqlite(provider: DatabaseProvider) -> Iterator[SessionFactory]:
    """A fresh SQLite database (the later-day tests cover PostgreSQL)."""
    databases = provider.backend("sqlite")
    url = databases.create()
    engine = make_engine(url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()
        databases.drop(url)


def test_load_twice_adds_nothing_and_matches_the_plan(
    database_provider: DatabaseProvider, ctx: RequestContext
) -> None:
    with _sqlite(database_provider) as session_factory:
        _check_load_twice(session_factory, ctx)


def _check_load_twice(session_factory: SessionFactory, ctx: RequestContext) -> None:
    ctx = RequestContext(actor=ctx.actor, now=AS_OF)
    with transaction(session_factory) as db:
        first = load_demo(db, ctx, seed=2, patients_count=10)
    tables = (PatientRow, ObservationRow, QuestionnaireResponseRow, QuestionnaireItemAnswerRow,
              ScreeningRow, TreatmentPlanRow, PlanSessionRow, SupervisedSessionRow)  # fmt: skip
    with session_factory() as db:
        counts = {t: _count(db, t) for t in tables}
    with transaction(session_factory) as db:
        second = load_demo(db, ctx, seed=2, patients_count=10)
    with session_factory() as db:
        assert {t: _count(db, t) for t in tables} == counts

    plan = plan_demo(2, AS_OF, 10, now=AS_OF)
    assert first.patients_new == len(plan) >= 10
    assert second.patients_new == 0
    assert sum(second.written.values()) == 0
    assert counts[PatientRow] == len(plan)
    assert counts[QuestionnaireResponseRow] == sum(len(p.scores_due(AS_OF)) for p in plan)
    with session_factory() as db:
        assert set(db.scalars(select(PatientRow.is_synthetic))) == {True}
        assert loaded_demos(db) == {2: 10}
        for person in plan:
            summary = get_patient_summary(db, ctx, person.patient_id)
            # The count is derived from the stored trials by the treatment-resistance rules.
            assert summary.adequate_failed_trials == person.intended_failed_trials
            assert summary.latest_weight_kg == pytest.approx(person.weight_kg)
            assert summary.escort is not None


def test_loading_more_patients_later_only_adds_the_new_ones(
    database_provider: DatabaseProvider, ctx: RequestContext
) -> None:
    ctx = RequestContext(actor=ctx.actor, now=AS_OF)
    with _sqlite(database_provider) as factory:
        with transaction(factory) as db:
            load_demo(db, ctx, seed=4, patients_count=3)
        with transaction(factory) as db:
            report = load_demo(db, ctx, seed=4, patients_count=5)
        assert report.patients_new == 2
        with factory() as db:
            numbers = [int(m.rsplit("-", 1)[1]) for m in db.scalars(select(PatientRow.mrn))]
            assert sorted(n for n in numbers if n <= ARRIVALS_FROM) == [1, 2, 3, 4, 5]
    assert plan_patient(4, 0, AS_OF).mrn == "DEMO-4-001"


def _content(url: str) -> dict[str, list[tuple[object, ...]]]:
    """What a user would see, by table, without the audit trail's own ids and hashes."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as db:
            return {
                "patients": sorted(db.execute(select(
                    PatientRow.id, PatientRow.mrn, PatientRow.given_name, PatientRow.family_name
                )).all()),
                "screenings": sorted(db.execute(select(
                    ScreeningRow.id, ScreeningRow.decision, ScreeningRow.screened_at)).all()),
                "plans": sorted(db.execute(select(
                    TreatmentPlanRow.id, TreatmentPlanRow.protocol_id, TreatmentPlanRow.status
                )).all()),
                "calendar": sorted(db.execute(select(
                    PlanSessionRow.plan_id, PlanSessionRow.sequence, PlanSessionRow.scheduled_on,
                    PlanSessionRow.status)).all()),
                "scores": sorted(db.execute(select(
                    QuestionnaireResponseRow.id, QuestionnaireResponseRow.total,
                    QuestionnaireResponseRow.administered_at)).all()),
                "sessions": sorted(db.execute(select(
                    SupervisedSessionRow.id, SupervisedSessionRow.patient_id,
                    SupervisedSessionRow.state, SupervisedSessionRow.scheduled_for)).all()),
            }  # fmt: skip
    finally:
        engine.dispose()


def test_same_seed_loads_the_same_clinic_into_two_databases(
    database_provider: DatabaseProvider, ctx: RequestContext
) -> None:
    databases = database_provider.backend("sqlite")
    urls = [databases.create(), databases.create()]
    try:
        for url in urls:
            engine = make_engine(url)
            with transaction(make_session_factory(engine)) as db:
                load_demo(db, RequestContext(ctx.actor, AS_OF), seed=9, patients_count=8)
            engine.dispose()
        first, second = (_content(url) for url in urls)
        assert first == second
        assert first["sessions"]
        assert first["scores"]
        assert first["calendar"]
    finally:
        for url in urls:
            databases.drop(url)
