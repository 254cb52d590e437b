"""Write a population summary as a tidy table (CSV or Parquet): one row per output and time."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from ketaclinic.errors import InvalidInput
from ketaclinic.pharmacology.trial import PopulationResult


def population_table(result: PopulationResult) -> pa.Table:
    columns: dict[str, list[object]] = {"output": [], "time_min": [], "mean_ng_ml": []}
    for percentile in result.percentiles:
        columns[f"p{percentile:g}_ng_ml"] = []
    for band_id in result.fraction_in_band:
        columns[f"fraction_in_{band_id}"] = []
    for output, bands in result.bands_ng_ml.items():
        for index, time_min in enumerate(result.times_min):
            columns["output"].append(output)
            columns["time_min"].append(float(time_min))
            columns["mean_ng_ml"].append(float(result.mean_ng_ml[output][index]))
            for row, percentile in enumerate(result.percentiles):
                columns[f"p{percentile:g}_ng_ml"].append(float(bands[row, index]))
            for band_id, fractions in result.fraction_in_band.items():
                # Band fractions are for the parent drug's plasma concentration only.
                value = float(fractions[index]) if output == "concentration" else None
                columns[f"fraction_in_{band_id}"].append(value)
    return pa.table(columns)


def write_population(result: PopulationResult, path: Path) -> Path:
    table = population_table(result)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        pa_csv.write_csv(table, path)
    elif suffix == ".parquet":
        pq.write_table(table, path)
    else:
        raise InvalidInput(
            f"Output file '{path.name}' must end in .csv or .parquet.", field="output"
        )
    return path
