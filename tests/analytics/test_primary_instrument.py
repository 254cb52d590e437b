"""A course scored on several scales counts once in pooled figures, on its primary depression
scale; per-instrument figures keep every scale apart (analytics/data/primary_instrument.yaml)."""

from __future__ import annotations

import pytest
from cohort_fixtures import write_dataset

from ketaclinic.analytics.cohorts import CohortResults, analyse_cohort
from ketaclinic.analytics.comparison import compare_with_evidence
from ketaclinic.analytics.dataset import open_dataset
from ketaclinic.analytics.instruments import PRIMARY_DEPRESSION, depression_instruments

IV3 = "iv-racemic-thrice-weekly"
# course -> instrument -> scores by day (day 0 is the baseline).
SCORES = {
    # PHQ-9 responds then relapses (two scores no longer meeting response); GAD-7 and MADRS
    # respond and hold. MADRS comes first in the configured order, so the course counts on it.
    "c1": {
        "phq9": {0: 20, 1: 8, 8: 18, 15: 19},
        "gad7": {0: 15, 1: 5, 8: 4, 15: 4},
        "madrs": {0: 30, 1: 12, 8: 14, 15: 13},
    },
    # PHQ-9 responds and holds; GAD-7 never responds.
    "c2": {
        "phq9": {0: 20, 1: 9, 8: 8, 15: 7},
        "gad7": {0: 12, 1: 10, 8: 11, 15: 10},
    },
}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> CohortResults:
    folder = tmp_path_factory.mktemp("two-scales")
    patients, courses, scores = [], [], []
    for index, (course, by_instrument) in enumerate(SCORES.items()):
        patient = f"p{index}"
        patients.append(
            {"patient_key": patient, "site_id": "s1", "sex": "F", "age_years": 40,
             "primary_indication": "trd", "adequate_failed_trials": 2}
        )  # fmt: skip
        courses.append(
            {"course_key": course, "patient_key": patient, "protocol_id": IV3, "route": "iv",
             "dose_mg_per_kg": 0.5, "dose_mg": None, "planned_sessions": 6,
             "completed_sessions": 6, "dropped_out": False, "induction_end_day": 12}
        )  # fmt: skip
        for instrument, totals in by_instrument.items():
            for day, total in totals.items():
                scores.append(
                    {"patient_key": patient, "course_key": course, "instrument": instrument,
                     "day": day, "total": float(total)}
                )  # fmt: skip
    write_dataset(folder, {"patients": patients, "courses": courses, "scores": scores})
    return analyse_cohort(open_dataset(folder))


def test_the_configured_order_puts_a_clinician_rating_first() -> None:
    order = depression_instruments()
    assert order.index("madrs") < order.index("phq9")
    assert "gad7" not in order


def test_pooled_durability_counts_each_course_once_on_its_primary_scale(
    results: CohortResults,
) -> None:
    pooled = results.durability["all"]
    assert pooled.responders == len(SCORES)
    # c1 counts on MADRS (held), not on PHQ-9 (relapsed) nor twice; c2 on PHQ-9 (held).
    assert pooled.relapses == 0
    assert results.durability["route=iv"].responders == len(SCORES)


def test_per_instrument_curves_keep_scales_apart(results: CohortResults) -> None:
    assert results.durability["instrument=phq9"].responders == 2
    assert results.durability["instrument=phq9"].relapses == 1
    # GAD-7 (an anxiety scale) never enters a depression curve; only c1 responded on it.
    assert results.durability["instrument=gad7"].responders == 1
    assert results.durability["instrument=madrs"].responders == 1


def test_primary_rows_count_each_course_once(results: CohortResults) -> None:
    overall = results.outcomes[results.outcomes.dimension == "all"].set_index(
        ["instrument", "timepoint"]
    )
    primary = overall.loc[(PRIMARY_DEPRESSION, "hours_24")]
    assert primary.n == len(SCORES)
    assert primary.responders == 2
    # Per instrument, each scale keeps its own rows.
    assert overall.loc[("phq9", "hours_24")].n == 2
    assert overall.loc[("gad7", "hours_24")].responders == 1


def test_a_pooled_published_figure_reads_each_course_once(results: CohortResults) -> None:
    rows = {r.benchmark_id: r for r in compare_with_evidence(results.outcomes, results.durability)}
    han = rows["han2016-iv-single-24h-response"]  # a meta-analysis pooling depression scales
    assert (han.clinic_n, han.clinic_events) == (len(SCORES), 2)
    mcinnes = rows["mcinnes2022-real-world-response"]  # PHQ-9 only, end of induction
    assert mcinnes.clinic_n == 2
