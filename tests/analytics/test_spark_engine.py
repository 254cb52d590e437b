"""The same analytics on Spark (local mode) give the same answers as on DuckDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from cohort_fixtures import synthetic_dataset

from ketaclinic.analytics.cohorts import CohortResults, analyse_cohort
from ketaclinic.analytics.comparison import compare_with_evidence
from ketaclinic.analytics.dataset import connect, open_dataset, spark_session

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = spark_session("local[1]", shuffle_partitions=1)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_dataset(tmp_path_factory.mktemp("network"), patients=1_200, seed=8)


@pytest.fixture(scope="module")
def both(folder: Path, spark: Any) -> tuple[CohortResults, CohortResults]:
    duck = analyse_cohort(open_dataset(folder, "duckdb"))
    sparked = analyse_cohort(open_dataset(folder, "spark", backend=connect("spark", spark=spark)))
    return duck, sparked


def _same(left: pd.DataFrame, right: pd.DataFrame, keys: list[str]) -> None:
    left = left.sort_values(keys).reset_index(drop=True)
    right = right.sort_values(keys).reset_index(drop=True)[left.columns]
    pd.testing.assert_frame_equal(left, right, check_dtype=False)


def test_outcomes_agree(both: tuple[CohortResults, CohortResults]) -> None:
    duck, sparked = both
    assert sparked.engine == "spark"
    assert (duck.patients, duck.courses) == (sparked.patients, sparked.courses)
    _same(duck.outcomes, sparked.outcomes, ["dimension", "value", "instrument", "timepoint"])


def test_safety_and_dropout_agree(both: tuple[CohortResults, CohortResults]) -> None:
    duck, sparked = both
    _same(duck.adverse_events, sparked.adverse_events, ["route", "term", "serious"])
    _same(duck.bp_alerts, sparked.bp_alerts, ["protocol_id"])
    _same(duck.dropout, sparked.dropout, ["protocol_id"])


def test_durability_agrees(both: tuple[CohortResults, CohortResults]) -> None:
    duck, sparked = both
    assert duck.durability.keys() == sparked.durability.keys()
    for label, curve in duck.durability.items():
        other = sparked.durability[label]
        assert (curve.responders, curve.relapses) == (other.responders, other.relapses)
        assert curve.survival == other.survival


def test_comparison_panel_agrees(both: tuple[CohortResults, CohortResults]) -> None:
    duck, sparked = both
    left = compare_with_evidence(duck.outcomes, duck.durability)
    right = compare_with_evidence(sparked.outcomes, sparked.durability)
    assert [(r.benchmark_id, r.clinic_n, r.verdict) for r in left] == [
        (r.benchmark_id, r.clinic_n, r.verdict) for r in right
    ]
