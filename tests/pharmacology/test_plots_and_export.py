"""Plots are real PNG/SVG images; population tables round-trip through CSV and Parquet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from ketaclinic.clinical.vocabulary import Route
from ketaclinic.errors import InvalidInput
from ketaclinic.pharmacology import (
    Covariates,
    Dose,
    PopulationRequest,
    Regimen,
    plot_concentration,
    predict_concentration,
    simulate_population,
    write_population,
)

REGIMEN = Regimen((Dose(Route.IV, 35.0, 0.0, 40.0),))


@pytest.fixture(scope="module")
def population() -> object:
    request = PopulationRequest(
        "herd", REGIMEN, (0.0, 20.0, 40.0, 60.0, 120.0), 200, 3, Covariates(40.0, 12)
    )
    return simulate_population(request, workers=1)


def test_png_and_svg(population: object) -> None:
    prediction = predict_concentration("herd", Covariates(40.0, 12), REGIMEN)
    png = plot_concentration(prediction, population)  # type: ignore[arg-type]
    assert isinstance(png, bytes)
    assert png.startswith(b"\x89PNG")
    svg = plot_concentration(prediction, image_format="svg")
    assert isinstance(svg, str)
    assert "<svg" in svg
    assert "Dissociation" in svg


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_population_table_round_trip(tmp_path: Path, population: object, suffix: str) -> None:
    path = write_population(population, tmp_path / f"pop{suffix}")  # type: ignore[arg-type]
    table = pq.read_table(path) if suffix == ".parquet" else pa_csv.read_csv(path)
    median = [row["p50_ng_ml"] for row in table.to_pylist() if row["output"] == "concentration"]
    np.testing.assert_allclose(median, population.bands_ng_ml["concentration"][1])  # type: ignore[attr-defined]


def test_unknown_table_format(tmp_path: Path, population: object) -> None:
    with pytest.raises(InvalidInput, match=r"\.csv or \.parquet"):
        write_population(population, tmp_path / "pop.xlsx")  # type: ignore[arg-type]
