"""The trajectory sampler: valid totals, seeded, and calibrated to the cited figures."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketaclinic.clinical.evidence import benchmark
from ketaclinic.clinical.outcomes import is_response, outcome_rules, remission_cutoff
from ketaclinic.clinical.questionnaires import get_instrument
from ketaclinic.clinical.questionnaires.models import compare
from ketaclinic.errors import InvalidInput
from ketaclinic.synthetic.trajectories import (
    WEEK_4_DAY,
    WEEK_8_DAY,
    OutcomeCutoffs,
    cutoffs_for,
    profile,
    resolve_targets,
    retained_share,
    sample_trajectories,
    trajectory_model,
)

PROFILES = [p.id for p in trajectory_model().profiles]
# An illustrative instrument for the sampler's own arithmetic (the real cut-offs come from
# ketaclinic.clinical.outcomes and are exercised through the cohort tests).
TOY = OutcomeCutoffs(
    instrument="toy", max_total=27, response_min_reduction=0.5, remission_max_total=4
)


def _within(observed: float, expected: float, n: int) -> None:
    # Five binomial standard errors: a false alarm about once in 1.7 million runs.
    tolerance = 5 * np.sqrt(expected * (1 - expected) / n)
    assert abs(observed - expected) <= tolerance, (observed, expected, tolerance)


@pytest.mark.parametrize("profile_id", PROFILES)
def test_rates_follow_the_cited_targets(profile_id: str) -> None:
    n = 40_000
    targets = resolve_targets(profile_id)
    rng = np.random.default_rng(7)
    end_day = rng.integers(9, 25, size=n)
    t = sample_trajectories(rng, induction_end_day=end_day, cutoffs=TOY, targets=targets)
    response_max = TOY.response_max_total(t.baseline_total)
    for totals, band in ((t.total_24h, targets.hours_24), (t.total_end, targets.end_of_induction)):
        _within(float(np.mean(totals <= response_max)), band.response, n)
        _within(float(np.mean(totals <= TOY.remission_max_total)), band.remission, n)
        _within(float(np.mean(totals > t.baseline_total)), band.worsening, n)
    for day in (WEEK_4_DAY, WEEK_8_DAY):
        totals = t.total_on_follow_up(day)
        kept = retained_share(targets, (day - t.end_score_day).astype(float))
        expected = float(np.mean(targets.end_of_induction.response * kept))
        _within(float(np.mean(totals <= response_max)), expected, n)


def test_han_meta_analysis_drives_iv_24h() -> None:
    targets = resolve_targets("iv-racemic-real-world")
    assert targets.hours_24.response == benchmark("han2016-iv-single-24h-response").value
    assert targets.hours_24.remission == benchmark("han2016-iv-single-24h-remission").value


def test_murrough_median_relapse_is_the_median() -> None:
    targets = resolve_targets("iv-racemic-trial-series")
    median_days = benchmark("murrough2013-iv-series-median-relapse").value
    assert retained_share(targets, np.array([median_days]))[0] == pytest.approx(0.5)
    n = 40_000
    rng = np.random.default_rng(3)
    t = sample_trajectories(rng, induction_end_day=np.full(n, 11), cutoffs=TOY, targets=targets)
    after_end = t.relapse_day[np.isfinite(t.relapse_day)] - t.end_score_day[0]
    assert np.median(after_end) == pytest.approx(median_days, rel=0.05)


def test_same_seed_same_patients_and_one_patient_works() -> None:
    targets = resolve_targets("esketamine-label")
    runs = [
        sample_trajectories(
            np.random.default_rng(11),
            induction_end_day=np.array([24]),
            cutoffs=TOY,
            targets=targets,
        )
        for _ in range(2)
    ]
    assert runs[0].total_end.tolist() == runs[1].total_end.tolist()
    assert runs[0].baseline_total.shape == (1,)


@settings(max_examples=60, deadline=None)
@given(
    max_total=st.integers(20, 80),
    remission_fraction=st.floats(0.05, 0.3),
    reduction=st.sampled_from([0.3, 0.5]),
    seed=st.integers(0, 2**32 - 1),
)
def test_totals_are_valid_for_any_instrument(
    max_total: int, remission_fraction: float, reduction: float, seed: int
) -> None:
    cutoffs = OutcomeCutoffs("any", max_total, reduction, int(max_total * remission_fraction))
    rng = np.random.default_rng(seed)
    t = sample_trajectories(
        rng,
        induction_end_day=rng.integers(1, 30, size=300),
        cutoffs=cutoffs,
        targets=resolve_targets("iv-racemic-real-world"),
    )
    for totals in (t.baseline_total, t.total_24h, t.total_end, t.total_follow_up):
        assert totals.min() >= 0
        assert totals.max() <= max_total
    response_max = cutoffs.response_max_total(t.baseline_total)
    # Every remission is also a response, so the rates nest as the literature reports them.
    assert np.all(response_max >= cutoffs.remission_max_total + 1)
    # Band and total agree: the end band says what the end total is.
    assert np.all((t.band_end == 0) == (t.total_end <= cutoffs.remission_max_total))
    assert np.all((t.band_end <= 1) == (t.total_end <= response_max))
    sessions = t.totals_on(np.array([[1, 5, 200]] * 300))
    assert np.array_equal(sessions[:, 0], t.total_24h)
    assert np.array_equal(sessions[:, 2], t.total_end)


def test_impossible_instrument_is_refused_clearly() -> None:
    with pytest.raises(InvalidInput, match="no baseline total"):
        OutcomeCutoffs("tiny", 6, 0.5, 4).baseline_range()


@pytest.mark.parametrize("instrument", ["phq9", "madrs", "qids-sr16", "hamd17"])
def test_cutoffs_come_from_the_outcome_rules(instrument: str) -> None:
    cutoffs = cutoffs_for(instrument)
    remission = remission_cutoff(instrument)
    # The remission band edge is the highest whole total that meets the remission rule.
    assert compare(cutoffs.remission_max_total, remission.op, remission.value)
    assert not compare(cutoffs.remission_max_total + 1, remission.op, remission.value)
    assert cutoffs.max_total == get_instrument(instrument).max_total
    assert cutoffs.response_min_reduction * 100 == outcome_rules(instrument).response.value


def test_absolute_response_rules_are_refused_with_a_reason() -> None:
    # PCL-5 response is a fall of a number of points, which the band sampler cannot target.
    with pytest.raises(InvalidInput, match="absolute change"):
        cutoffs_for("pcl5")


@pytest.mark.parametrize("profile_id", PROFILES)
def test_real_instrument_rates_follow_the_targets(profile_id: str) -> None:
    targets = resolve_targets(profile_id)
    cutoffs = cutoffs_for(profile(profile_id).instrument)
    n = 20_000
    t = sample_trajectories(
        np.random.default_rng(17),
        induction_end_day=np.full(n, 13),
        cutoffs=cutoffs,
        targets=targets,
    )
    rule = outcome_rules(cutoffs.instrument).response
    # Judged by the remission definition of the figure the profile is calibrated to.
    remission = remission_cutoff(cutoffs.instrument, targets.outcome_policy)
    responded = [
        is_response(rule, b, e) for b, e in zip(t.baseline_total, t.total_end, strict=True)
    ]
    remitted = [compare(e, remission.op, remission.value) for e in t.total_end]
    _within(float(np.mean(responded)), targets.end_of_induction.response, n)
    _within(float(np.mean(remitted)), targets.end_of_induction.remission, n)


def test_esketamine_remission_is_calibrated_at_the_trials_madrs_le12() -> None:
    # The monotherapy remission figure is recorded as MADRS <= 12 (evidence.yaml); ketaclinic's
    # default MADRS remission is <= 10, so the sampler must place the remission band at 12.
    targets = resolve_targets("esketamine-label")
    assert targets.remission_option == "le12"
    assert cutoffs_for("madrs", targets.remission_option).remission_max_total == 12
    assert cutoffs_for("madrs").remission_max_total == 10
