"""Plot helpers: the lines drawn on a score trajectory and the images themselves."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ketaclinic.clinical.outcomes import ScorePoint, assess_course
from ketaclinic.services.chart import VitalsRow, course_outcomes
from ketaclinic.services.measurement import TrajectoryPoint
from ketaclinic.services.today import minutes_until
from ketaclinic.web import plots

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _points(totals: list[float]) -> list[TrajectoryPoint]:
    return [
        TrajectoryPoint(f"r{n}", T0 + timedelta(days=7 * n), total, None, "1", ())
        for n, total in enumerate(totals)
    ]


def test_phq9_lines_are_half_the_baseline_and_the_remission_cut_off() -> None:
    # McInnes 2022 (outcomes.yaml): response = 50% reduction from baseline; remission = PHQ-9 < 5.
    outcome = assess_course("phq9", [ScorePoint(0, 18), ScorePoint(14, 8)])
    lines = plots.score_lines("phq9", outcome)
    assert lines.baseline == 18
    assert lines.response_at_or_below == 9
    assert lines.remission_value == 5
    assert lines.remission_text == "Remission: total < 5"


def test_madrs_remission_uses_the_data_files_default_option() -> None:
    outcome = assess_course("madrs", [ScorePoint(0, 30)])
    lines = plots.score_lines("madrs", outcome)
    assert lines.response_at_or_below == 15  # 50% of 30
    assert lines.remission_text == "Remission: total <= 10"


def test_without_a_baseline_only_the_remission_line_is_drawn() -> None:
    lines = plots.score_lines("phq9", None)
    assert lines.response_at_or_below is None
    assert lines.remission_value == 5


def test_the_first_score_is_day_0_when_there_is_no_plan() -> None:
    outcomes = course_outcomes({"phq9": _points([20, 12, 9])}, None)
    assert outcomes["phq9"].baseline is not None
    assert outcomes["phq9"].baseline.total == 20
    assert outcomes["phq9"].responded  # 9 <= 10
    started_later = course_outcomes({"phq9": _points([20, 12, 9])}, date(2026, 3, 9))
    assert started_later["phq9"].baseline is not None
    assert started_later["phq9"].baseline.total == 12  # last score on or before day 0


def test_images_are_png_and_an_empty_flowsheet_draws_nothing() -> None:
    points = _points([20, 12, 4])
    image = plots.score_trajectory_png("phq9", points, plots.score_lines("phq9", None))
    assert image.startswith(b"\x89PNG")
    assert plots.vitals_trend_png([]) is None
    one = [VitalsRow(T0, {"systolic_mmhg": 120, "diastolic_mmhg": 80}, "manual")]
    assert (plots.vitals_trend_png(one) or b"").startswith(b"\x89PNG")


@given(st.integers(min_value=-600, max_value=600), st.integers(min_value=0, max_value=59))
def test_a_timer_never_shows_more_time_than_is_left(minutes: int, seconds: int) -> None:
    due = T0 + timedelta(minutes=minutes, seconds=seconds)
    shown = minutes_until(due, T0)
    assert shown is not None
    assert shown * 60 <= (due - T0).total_seconds() < (shown + 1) * 60
