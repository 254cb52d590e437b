"""Write the OMOP tables as CSV (header row, empty = NULL) or Parquet (CDM types)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from ketaclinic.errors import InvalidInput
from ketaclinic.interop.deidentify import Deidentifier
from ketaclinic.interop.fhir.source import load_patient_data
from ketaclinic.interop.omop import rows as build
from ketaclinic.interop.omop.schema import OMOP_TABLES

OmopFormat = Literal["csv", "parquet"]


@dataclass
class OmopSummary:
    out_dir: Path
    counts: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


def _arrow_type(cdm_type: str) -> pa.DataType:
    if cdm_type == "integer":
        return pa.int32()  # the DDL's INTEGER is 32-bit
    if cdm_type == "float":
        return pa.float64()
    if cdm_type == "date":
        return pa.date32()
    if cdm_type == "datetime":
        return pa.timestamp("us")
    return pa.string()


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _write(table: str, rows: list[dict[str, Any]], out_dir: Path, fmt: OmopFormat) -> Path:
    columns = OMOP_TABLES[table]
    for row in rows:
        unknown = set(row) - {name for name, _, _ in columns}
        if unknown:
            raise AssertionError(f"{table} has no column(s) {sorted(unknown)}")
    if fmt == "csv":
        path = out_dir / f"{table}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([name for name, _, _ in columns])
            for row in rows:
                writer.writerow([_csv_value(row.get(name)) for name, _, _ in columns])
        return path
    path = out_dir / f"{table}.parquet"
    schema = pa.schema(
        [
            pa.field(name, _arrow_type(kind), nullable=not required)
            for name, kind, required in columns
        ]
    )
    arrays = {name: [row.get(name) for row in rows] for name, _, _ in columns}
    pq.write_table(pa.Table.from_pydict(arrays, schema=schema), path)
    return path


def export_omop(
    db: Session,
    out_dir: Path,
    patient_ids: Sequence[str],
    *,
    as_of: date,
    fmt: str = "csv",
    deidentifier: Deidentifier | None = None,
    progress: Callable[[int], None] | None = None,
) -> OmopSummary:
    if fmt not in ("csv", "parquet"):
        raise InvalidInput(f"Unknown OMOP format '{fmt}'. Use csv or parquet.", field="format")
    out_dir.mkdir(parents=True, exist_ok=True)
    mint = build.KeyMint()
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in OMOP_TABLES}
    for patient_id in patient_ids:
        data = load_patient_data(db, patient_id)
        if deidentifier is not None:
            data = deidentifier.patient(data)
        person_id = mint("person")
        tables["person"].append(build.person_row(data, person_id, as_of))
        period_key = mint("observation_period")
        visits, by_day = build.visit_rows(data, mint, person_id)
        drugs = build.drug_rows(data, mint, person_id)
        for drug in drugs:
            session_id = drug.pop("_session_id", None)
            if session_id is not None:
                drug["visit_occurrence_id"] = by_day.get(session_id)
        events = {
            "visit_occurrence": visits,
            "condition_occurrence": build.condition_rows(data, mint, person_id),
            "drug_exposure": drugs,
            "measurement": build.measurement_rows(data, mint, person_id, by_day),
            "observation": build.observation_rows(data, mint, person_id),
        }
        every_event = [row for rows in events.values() for row in rows]
        tables["observation_period"].append(
            build.observation_period_row(data, period_key, person_id, every_event)
        )
        for table, rows in events.items():
            tables[table].extend(rows)
        if progress is not None:
            progress(1)
    summary = OmopSummary(out_dir)
    for table, rows in tables.items():
        summary.files.append(_write(table, rows, out_dir, "csv" if fmt == "csv" else "parquet"))
        summary.counts[table] = len(rows)
    return summary
