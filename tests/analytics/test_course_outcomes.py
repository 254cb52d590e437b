"""Per-course outcomes on a hand-made dataset: worked by hand, checked against the chart engine."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from cohort_fixtures import write_dataset

from ketaclinic.analytics.cohorts import analyse_cohort
from ketaclinic.analytics.course_outcomes import assessments, durability_inputs, rules_for
from ketaclinic.analytics.dataset import open_dataset
from ketaclinic.clinical.outcome_policy import outcome_policy
from ketaclinic.clinical.outcomes import ScorePoint, assess_course
from ketaclinic.errors import InvalidInput

# (patient, instrument, day, total). Cut-offs used in the comments come from outcomes.yaml:
# PHQ-9 response = a fall of at least 50%, remission < 5, relapse = 2 non-responses in a row;
# MADRS relapse = >= 22 at 2 assessments 5-15 days apart.
SCORES = [
    # P1: responds on day 1 (20 -> 9), remits at the end (4), loses response on days 14 and 21.
    ("p1", "phq9", 0, 20), ("p1", "phq9", 1, 9), ("p1", "phq9", 12, 4),
    ("p1", "phq9", 14, 12), ("p1", "phq9", 21, 15), ("p1", "phq9", 28, 5),
    # P2: never responds and ends worse than baseline (16 -> 18).
    ("p2", "phq9", 0, 16), ("p2", "phq9", 1, 16), ("p2", "phq9", 12, 18),
    # P3: exactly 50% on day 1 (10 -> 5) counts as a response, but 5 is not < 5; drops out.
    ("p3", "phq9", 0, 10), ("p3", "phq9", 1, 5),
    # P4 (MADRS): responds, then >= 22 on days 14 and 35 (21 days apart: too far), 35 and 42.
    ("p4", "madrs", 0, 40), ("p4", "madrs", 1, 18), ("p4", "madrs", 14, 25),
    ("p4", "madrs", 35, 30), ("p4", "madrs", 42, 28),
]  # fmt: skip


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    people = [("p1", "F", 34), ("p2", "M", 52), ("p3", "F", 91), ("p4", "M", 45)]
    # fmt: off
    return write_dataset(
        tmp_path_factory.mktemp("hand"),
        {
            "patients": [
                {"patient_key": p, "site_id": "site-001", "sex": sex, "age_years": age,
                 "primary_indication": "trd", "adequate_failed_trials": 2}
                for p, sex, age in people
            ],
            "courses": [
                {"course_key": f"{p}-c", "patient_key": p,
                 "protocol_id": "iv-racemic-thrice-weekly", "route": "iv",
                 "dose_mg_per_kg": 0.5, "dose_mg": None, "planned_sessions": 6,
                 "completed_sessions": 2 if p == "p3" else 6, "dropped_out": p == "p3",
                 "induction_end_day": 4 if p == "p3" else 11}
                for p, _, _ in people
            ],
            "scores": [
                {"patient_key": p, "course_key": f"{p}-c", "instrument": i, "day": d,
                 "total": float(t)}
                for p, i, d, t in SCORES
            ],
        },
    )
    # fmt: on


def test_timepoints_worked_by_hand(folder: Path) -> None:
    results = analyse_cohort(open_dataset(folder))
    overall = results.outcomes[results.outcomes.dimension == "all"].set_index(
        ["instrument", "timepoint"]
    )
    h24 = overall.loc[("phq9", "hours_24")]
    assert (h24.n, h24.responders, h24.remitters) == (3, 2, 0)
    end = overall.loc[("phq9", "end_of_induction")]
    # P1 (4: response and remission) and P2 (18: worse); P3 dropped out and has no end score.
    assert (end.n, end.responders, end.remitters, end.worsened) == (2, 1, 1, 1)
    week4 = overall.loc[("phq9", "week_4")]
    assert (week4.n, week4.responders, week4.remitters) == (1, 1, 0)
    ages = results.outcomes[results.outcomes.dimension == "age_band"]
    assert set(ages.value) == {"30-39", "50-59", "90+", "40-49"}


def test_relapse_days_agree_with_the_chart_engine(folder: Path) -> None:
    ds = open_dataset(folder)
    instruments = ["phq9", "madrs"]
    post = assessments(ds.scores, rules_for(instruments))
    table = durability_inputs(post, rules_for(instruments)).to_pandas().set_index("course_key")
    frame = pd.DataFrame(SCORES, columns=["patient", "instrument", "day", "total"])
    for patient, rows in frame.groupby("patient"):
        chart = assess_course(
            rows.instrument.iloc[0],
            [ScorePoint(d, t) for d, t in zip(rows.day, rows.total, strict=True)],
        )
        key = f"{patient}-c"
        if not chart.responded:
            assert key not in table.index
            continue
        row = table.loc[key]
        assert row.first_response_day == chart.day_of_first_response
        relapse = None if pd.isna(row.relapse_day) else row.relapse_day
        assert relapse == chart.day_of_relapse
    # Worked by hand: P1 relapses on day 21; P4 on day 42 (not 35: 14 -> 35 is 21 days apart).
    assert table.loc["p1-c"].relapse_day == 21
    assert table.loc["p4-c"].relapse_day == 42
    assert pd.isna(table.loc["p3-c"].relapse_day)


def test_the_clinics_outcome_choices_reach_the_cohort_as_they_reach_the_chart(
    folder: Path,
) -> None:
    # Relapse on the MADRS as loss of response (instead of SUSTAIN-1's >= 22): P4 no longer
    # responds on day 14 (25 > 20) nor 35, so the run completes on day 35, not 42.
    policy = outcome_policy({"relapse.madrs": "loss-of-response"})
    ds = open_dataset(folder)
    rules = rules_for(["phq9", "madrs"])
    table = durability_inputs(assessments(ds.scores, rules, policy), rules, policy)
    relapse_day = table.to_pandas().set_index("course_key").loc["p4-c"].relapse_day
    rows = [(d, t) for p, i, d, t in SCORES if p == "p4"]
    chart = assess_course("madrs", [ScorePoint(d, t) for d, t in rows], policy=policy)
    assert relapse_day == chart.day_of_relapse == 35
    # Remission <= 12 on the PHQ-9 cannot be chosen (one cited option only): refused by name.
    with pytest.raises(InvalidInput):
        outcome_policy({"remission.phq9": "le12"})
