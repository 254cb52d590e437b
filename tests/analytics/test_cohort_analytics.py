"""Cohort questions on a small synthetic network, recomputed independently with pandas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from cohort_fixtures import synthetic_dataset, write_dataset
from lifelines import KaplanMeierFitter

from ketaclinic.analytics.cohorts import CohortResults, analyse_cohort
from ketaclinic.analytics.comparison import compare_with_evidence, verdict
from ketaclinic.analytics.dataset import open_dataset
from ketaclinic.analytics.durability import fit_kaplan_meier
from ketaclinic.analytics.stats import wilson
from ketaclinic.errors import InvalidInput


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_dataset(tmp_path_factory.mktemp("network"))


@pytest.fixture(scope="module")
def results(folder: Path) -> CohortResults:
    return analyse_cohort(open_dataset(folder))


def _frame(folder: Path, table: str) -> pd.DataFrame:
    return pq.read_table(folder / table).to_pandas()


def test_end_of_induction_counts_match_pandas(folder: Path, results: CohortResults) -> None:
    scores, courses = _frame(folder, "scores"), _frame(folder, "courses")
    baseline = scores[scores.day == 0].set_index("course_key").total
    merged = scores.merge(courses[["course_key", "induction_end_day"]], on="course_key")
    end = merged[
        (merged.day > merged.induction_end_day) & (merged.day <= merged.induction_end_day + 7)
    ]
    end = end.sort_values("day").groupby("course_key").first()
    end["baseline"] = baseline.reindex(end.index)
    for instrument, part in end.groupby("instrument"):
        row = results.outcomes[
            (results.outcomes.dimension == "all")
            & (results.outcomes.timepoint == "end_of_induction")
            & (results.outcomes.instrument == instrument)
        ].iloc[0]
        assert row.n == len(part)
        assert row.responders == int(((part.baseline - part.total) * 2 >= part.baseline).sum())
        assert row.worsened == int((part.total > part.baseline).sum())
        interval = wilson(int(row.responders), int(row.n))
        assert (row.response_low, row.response_high) == pytest.approx((interval.low, interval.high))


def test_every_dimension_adds_up_to_everyone(results: CohortResults) -> None:
    outcomes = results.outcomes
    totals = outcomes[outcomes.dimension == "all"].set_index(["timepoint", "instrument"]).n
    for dimension in ("protocol", "route", "dose", "indication", "age_band", "sex", "site"):
        summed = (
            outcomes[outcomes.dimension == dimension].groupby(["timepoint", "instrument"]).n.sum()
        )
        assert summed.sort_index().equals(totals.sort_index())


def test_safety_and_dropout_match_pandas(folder: Path, results: CohortResults) -> None:
    sessions, courses = _frame(folder, "sessions"), _frame(folder, "courses")
    events = _frame(folder, "adverse_events").merge(
        courses[["course_key", "route"]], on="course_key"
    )
    given = sessions[sessions.status != "no-show"].merge(
        courses[["course_key", "route"]], on="course_key"
    )
    table = results.adverse_events.set_index(["route", "term", "serious"])
    for (route, term, serious), part in events.groupby(["route", "term", "serious"]):
        row = table.loc[(route, term, serious)]
        assert row.patients_with == part.patient_key.nunique()
        assert row.sessions == (given.route == route).sum()
    for (route, term), part in events.groupby(["route", "term"]):
        rows = results.adverse_events[
            (results.adverse_events.route == route) & (results.adverse_events.term == term)
        ]
        # Any seriousness: a patient with the term both serious and not counts once.
        assert set(rows.patients_with_term) == {part.patient_key.nunique()}
    bp = results.bp_alerts.set_index("protocol_id")
    for protocol, part in given.merge(
        courses[["course_key", "protocol_id"]], on="course_key"
    ).groupby("protocol_id"):
        assert bp.loc[protocol].alert_sessions == part.bp_alert.sum()
        assert bp.loc[protocol].alert_patients == part.groupby("patient_key").bp_alert.any().sum()
    dropout = results.dropout.set_index("protocol_id")
    for protocol, part in courses.groupby("protocol_id"):
        assert dropout.loc[protocol].dropped_out == part.dropped_out.sum()


def test_weighted_kaplan_meier_equals_one_row_per_patient() -> None:
    rng = np.random.default_rng(4)
    durations = rng.integers(1, 60, size=400)
    relapsed = rng.random(400) < 0.6
    per_patient = KaplanMeierFitter().fit(durations, relapsed)
    counted = (
        pd.DataFrame({"duration_days": durations, "relapsed": relapsed, "courses": 1})
        .groupby(["duration_days", "relapsed"], as_index=False)
        .courses.sum()
    )
    curve = fit_kaplan_meier("all", counted)
    assert curve is not None
    assert curve.median_days == per_patient.median_survival_time_
    assert curve.free_of_relapse[28][0] == pytest.approx(
        float(per_patient.survival_function_at_times(28).iloc[0])
    )


def test_calibrated_benchmarks_sit_within_sampling_error(results: CohortResults) -> None:
    rows = compare_with_evidence(results.outcomes, results.durability)
    calibrated = {
        "han2016-iv-single-24h-response",
        "mcinnes2022-real-world-response",
        "mcinnes2022-real-world-remission",
        "transform-pooled-esketamine-day28-response",
    }
    checked = [row for row in rows if row.benchmark_id in calibrated]
    assert {row.benchmark_id for row in checked} == calibrated
    for row in checked:
        se = np.sqrt(row.published * (1 - row.published) / row.clinic_n)
        assert abs(row.clinic - row.published) <= 5 * se


def test_published_interval_uses_the_best_denominator_recorded(results: CohortResults) -> None:
    rows = {r.benchmark_id: r for r in compare_with_evidence(results.outcomes, results.durability)}
    # McInnes 2022 gives the arm (n=537): 53.6% -> 288 events.
    mcinnes = rows["mcinnes2022-real-world-response"]
    assert mcinnes.published_interval_basis == "arm"
    assert mcinnes.published_low == pytest.approx(wilson(288, 537).low)
    # Han 2016 records only all 368 participants: an approximate (too narrow) interval.
    han = rows["han2016-iv-single-24h-response"]
    assert han.published_interval_basis == "all participants"
    assert han.published_high == pytest.approx(wilson(round(0.522 * 368), 368).high)
    # TRANSFORM's pooled abstract gives the arm (182/310 at day 28).
    transform = rows["transform-pooled-esketamine-day28-response"]
    assert transform.published_interval_basis == "arm"
    assert transform.published_low == pytest.approx(wilson(182, 310).low)
    # The esketamine monotherapy remission figure has no size recorded: the point only.
    assert rows["esketamine-monotherapy-day28-remission"].published_low is None


@pytest.mark.parametrize(
    ("clinic", "published", "expected"),
    [
        ((0.50, 0.60), (0.55, 0.55), "in line"),
        ((0.61, 0.70), (0.40, 0.60), "above"),
        ((0.10, 0.20), (0.25, 0.30), "below"),
        ((float("nan"), float("nan")), (0.5, 0.5), "no clinic data"),
    ],
)
def test_verdict_by_interval_overlap(
    clinic: tuple[float, float], published: tuple[float, float], expected: str
) -> None:
    assert verdict(*clinic, *published) == expected


def test_a_folder_that_is_not_a_dataset_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="patients"):
        open_dataset(tmp_path)


def test_a_table_without_a_contract_column_is_refused(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path, {})
    scores = pq.read_table(folder / "scores").drop_columns(["total"])
    pq.write_table(scores, folder / "scores" / "part-00000.parquet")
    with pytest.raises(InvalidInput, match=r"'scores'.*total"):
        open_dataset(folder)
