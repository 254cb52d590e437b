"""Course outcomes on both sides of every cut-off, computed by hand from the cited rules."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketaclinic.clinical.outcomes import (
    CourseOutcome,
    OutcomePolicy,
    ScorePoint,
    all_outcome_rules,
    assess_course,
    assess_trajectories,
    outcome_defaults,
    outcome_rules,
    remission_cutoff,
    response_threshold,
)
from ketaclinic.errors import InvalidInput, NotFound


def _course(
    instrument: str, *totals: tuple[float, float], policy: OutcomePolicy | None = None
) -> CourseOutcome:
    return assess_course(
        instrument, [ScorePoint(day, total) for day, total in totals], policy=policy
    )


def test_response_at_exactly_fifty_percent_and_just_short() -> None:
    assert _course("phq9", (0, 20), (14, 10)).responded is True  # 50% reduction
    assert _course("phq9", (0, 20), (14, 11)).responded is False  # 45%
    outcome = _course("madrs", (0, 30), (7, 20), (14, 15))
    assert outcome.responded is True
    assert outcome.day_of_first_response == 14  # time to response
    assert outcome.absolute_change == -15
    assert outcome.percent_change == -50


@pytest.mark.parametrize(
    ("instrument", "remitted_total", "not_remitted_total"),
    [("phq9", 4, 5), ("madrs", 10, 11), ("qids-sr16", 5, 6), ("hamd17", 7, 8), ("gad7", 4, 5)],
)
def test_remission_cutoffs(instrument: str, remitted_total: int, not_remitted_total: int) -> None:
    assert _course(instrument, (0, 20), (21, remitted_total)).remitted is True
    assert _course(instrument, (0, 20), (21, not_remitted_total)).remitted is False


def test_madrs_remission_le12_is_a_cited_alternative() -> None:
    policy = OutcomePolicy(remission={"madrs": "le12"})
    assert _course("madrs", (0, 30), (21, 12), policy=policy).remitted is True
    assert _course("madrs", (0, 30), (21, 13), policy=policy).remitted is False
    assert _course("madrs", (0, 30), (21, 12), policy=policy).remission_rule.value == 12
    assert remission_cutoff("madrs").value == 10
    assert remission_cutoff("madrs", policy).value == 12
    # The choice is per instrument: the PHQ-9 keeps its own default under the same policy.
    assert remission_cutoff("phq9", policy) == remission_cutoff("phq9")
    with pytest.raises(InvalidInput) as raised:
        remission_cutoff("madrs", OutcomePolicy(remission={"madrs": "le15"}))
    assert "le10" in raised.value.message
    assert raised.value.field == "remission.madrs"


def test_pcl5_response_is_ten_points_and_remission_below_cutoff() -> None:
    assert _course("pcl5", (0, 50), (28, 40)).responded is True
    assert _course("pcl5", (0, 50), (28, 41)).responded is False
    assert _course("pcl5", (0, 50), (28, 32)).remitted is True
    assert _course("pcl5", (0, 50), (28, 33)).remitted is False
    lenient = OutcomePolicy(remission={"pcl5": "lt31"})
    assert _course("pcl5", (0, 50), (28, 31), policy=lenient).remitted is False


def test_remitted_is_about_the_latest_point_ever_remitted_about_any() -> None:
    outcome = _course("phq9", (0, 20), (7, 4), (14, 12))
    assert outcome.remitted is False
    assert outcome.ever_remitted is True
    assert outcome.day_of_first_remission == 7


def test_baseline_is_last_score_on_or_before_start_by_default() -> None:
    points = ((-10, 18), (-2, 8), (0, 22), (7, 11))
    assert _course("phq9", *points).baseline == ScorePoint(0, 22)
    first = OutcomePolicy(baseline="first_on_or_before_start")
    assert _course("phq9", *points, policy=first).baseline == ScorePoint(-10, 18)
    # 11 is a 50% drop from 22 but not from 18; the pre-treatment 8 on day -2 never counts as a
    # response even though it is below half of the first baseline.
    assert _course("phq9", *points).responded is True
    assert _course("phq9", *points, policy=first).responded is False


def test_baseline_window_and_missing_baseline() -> None:
    recent_only = OutcomePolicy(baseline_max_days_before_start=5)
    outcome = _course("phq9", (-10, 20), (7, 5), policy=recent_only)
    assert outcome.baseline is None
    assert (outcome.responded, outcome.percent_change) == (False, None)
    assert _course("phq9", (3, 20), (7, 5)).baseline is None
    assert _course(
        "phq9", (3, 20), (7, 5), policy=OutcomePolicy(baseline="first_recorded")
    ).responded


def test_relapse_after_response_needs_two_consecutive_non_responses() -> None:
    relapsing = _course("phq9", (0, 20), (7, 8), (14, 12), (21, 14))
    assert relapsing.responded is True
    assert (relapsing.relapsed, relapsing.day_of_relapse) == (True, 21)
    recovered = _course("phq9", (0, 20), (7, 8), (14, 12), (21, 9))
    assert recovered.relapsed is False
    never_responded = _course("phq9", (0, 20), (7, 15), (14, 16), (21, 17))
    assert never_responded.relapsed is False


def test_madrs_sustain1_relapse_two_scores_of_22_five_to_fifteen_days_apart() -> None:
    assert _course("madrs", (0, 30), (7, 12), (14, 22), (21, 23)).day_of_relapse == 21
    assert _course("madrs", (0, 30), (7, 12), (14, 21), (21, 21)).relapsed is False
    assert _course("madrs", (0, 30), (7, 12), (14, 22), (40, 24)).relapsed is False  # 26 days apart
    # Two days apart is too close; the run restarts at day 16 and completes 7 days later.
    assert _course("madrs", (0, 30), (7, 12), (14, 22), (16, 22), (23, 22)).day_of_relapse == 23


def test_madrs_relapse_can_be_loss_of_response_instead() -> None:
    # 16 and 17 are no longer a 50% fall from 30 but stay below SUSTAIN-1's 22.
    course = ((0, 30), (7, 12), (14, 16), (21, 17))
    assert _course("madrs", *course).relapsed is False
    policy = OutcomePolicy(relapse={"madrs": "loss-of-response"})
    chosen = _course("madrs", *course, policy=policy)
    assert (chosen.relapsed, chosen.day_of_relapse) == (True, 21)
    assert chosen.relapse_rule.id == "loss-of-response"


def test_worsening_is_a_rise_over_baseline() -> None:
    assert _course("phq9", (0, 10), (14, 12)).worsened is True
    assert _course("phq9", (0, 10), (14, 10)).worsened is False
    tolerant = OutcomePolicy(worsening_min_rise_points=3)
    assert _course("phq9", (0, 10), (14, 12), policy=tolerant).worsened is False
    assert _course("phq9", (0, 10), (14, 14), policy=tolerant).worsened is True


def test_per_point_flags_form_the_trajectory() -> None:
    outcome = _course("phq9", (7, 9), (0, 20), (14, 4))  # given out of order
    assert [p.day for p in outcome.points] == [0, 7, 14]
    assert [p.is_response for p in outcome.points] == [False, True, True]
    assert [p.is_remission for p in outcome.points] == [False, False, True]
    assert [p.change for p in outcome.points] == [0, -11, -16]


def test_bad_points_and_uncovered_instruments() -> None:
    with pytest.raises(InvalidInput) as raised:
        _course("phq9", (0, 20), (7, 28))
    assert "0-27" in raised.value.message
    with pytest.raises(NotFound) as missing:
        outcome_rules("moaas")
    assert "phq9" in missing.value.message


def test_rules_are_exposed_for_analytics() -> None:
    assert response_threshold("phq9").type == "percent_reduction"
    assert response_threshold("phq9").value == 50
    rules = outcome_rules("qids-sr16")
    assert [(o.id, o.op, o.value) for o in rules.remission.options] == [("le5", "<=", 5)]
    assert all(option.source.citation for option in rules.remission.options)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=1, max_value=27),
    st.lists(st.integers(min_value=0, max_value=27), min_size=1, max_size=8),
)
def test_response_matches_halving_for_phq9(baseline: int, follow_up: list[int]) -> None:
    points = [(0, baseline)] + [(7 * (i + 1), t) for i, t in enumerate(follow_up)]
    outcome = _course("phq9", *points)
    assert outcome.responded == any(2 * t <= baseline for t in follow_up)
    assert outcome.worsened == (follow_up[-1] > baseline)


def test_trajectories_per_instrument_and_all_rules() -> None:
    outcomes = assess_trajectories(
        {
            "phq9": [ScorePoint(0, 20), ScorePoint(14, 4)],
            "gad7": [ScorePoint(0, 12), ScorePoint(14, 11)],
        }
    )
    assert outcomes["phq9"].remitted is True
    assert outcomes["gad7"].responded is False
    assert outcome_defaults().baseline == "last_on_or_before_start"
    assert outcome_defaults().worsening_min_rise_points == 0
    covered = {rules.id for rules in all_outcome_rules()}
    assert {"phq9", "madrs", "qids-sr16", "hamd17", "gad7", "pcl5"} <= covered
