"""The published figures load, keep the reference's verification flags and are found by filter."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ketaclinic.clinical.evidence import (
    Benchmark,
    Measure,
    Timepoint,
    all_benchmarks,
    benchmark,
    find_benchmarks,
)
from ketaclinic.clinical.outcomes import remission_cutoff
from ketaclinic.clinical.vocabulary import Route
from ketaclinic.errors import NotFound


def test_every_benchmark_has_a_source_and_a_sensible_value() -> None:
    items = all_benchmarks()
    assert len(items) >= 20
    for item in items:
        assert item.source.citation
        if item.is_proportion:
            assert 0 <= item.value <= 1


@pytest.mark.parametrize(
    ("benchmark_id", "percent"),
    [
        # Clinical reference section 4.1 and 4.2, as printed there.
        ("han2016-iv-single-24h-response", 52.2),
        ("han2016-iv-single-24h-remission", 20.6),
        ("mcinnes2022-real-world-response", 53.6),
        ("mcinnes2022-real-world-remission", 28.9),
        ("mcinnes2022-real-world-worsening", 8.4),
        ("elektd2023-iv-ketamine-arm-response", 55.4),
        ("transform-pooled-esketamine-day28-response", 58.7),
        ("murrough2013-iv-series-response", 70.8),
    ],
)
def test_key_figures_match_the_reference(benchmark_id: str, percent: float) -> None:
    assert benchmark(benchmark_id).value == pytest.approx(percent / 100)


def test_unverified_figures_stay_flagged() -> None:
    # The reference marks Murrough 2013 AJP's 64% response as UNVERIFIED.
    assert benchmark("murrough2013-ajp-24h-response").source.verified is False
    assert benchmark("han2016-iv-single-24h-response").source.verified is True


def test_events_need_the_arm_size() -> None:
    mcinnes = benchmark("mcinnes2022-real-world-response")
    assert mcinnes.events == round(0.536 * 537)
    # Han 2016 gives only the total across arms, so no event count is implied.
    assert benchmark("han2016-iv-single-24h-response").events is None


def test_find_by_measure_timepoint_and_route() -> None:
    found = find_benchmarks(measure=Measure.RESPONSE, timepoint=Timepoint.HOURS_24, route=Route.IV)
    ids = {b.id for b in found}
    assert "han2016-iv-single-24h-response" in ids
    assert all(b.route == Route.IV and b.timepoint == Timepoint.HOURS_24 for b in found)


def test_unknown_id_names_the_known_ones() -> None:
    with pytest.raises(NotFound, match="han2016-iv-single-24h-response"):
        benchmark("no-such-study")


def test_a_proportion_above_one_is_refused() -> None:
    raw = benchmark("mcinnes2022-real-world-response").model_dump()
    raw["value"] = 53.6
    with pytest.raises(ValidationError, match="proportion"):
        Benchmark.model_validate(raw)


def test_a_remission_figure_records_its_definition() -> None:
    figure = benchmark("esketamine-monotherapy-day28-remission")
    # Secondary news coverage only: not verified against the trial report.
    assert figure.source.verified is False
    assert figure.remission_option == "le12"
    assert remission_cutoff("madrs", figure.outcome_policy).value == 12
    with pytest.raises(ValidationError, match="le15"):
        Benchmark.model_validate(
            figure.model_dump() | {"id": "made-up", "remission_option": "le15"}
        )
    with pytest.raises(ValidationError, match="only a remission figure"):
        Benchmark.model_validate(
            benchmark("transform-pooled-esketamine-day28-response").model_dump()
            | {"remission_option": "le12"}
        )
