"""Open a research-dataset folder (docs/research-dataset.md) on DuckDB or Spark through Ibis.

The analytics are written once against Ibis tables; only this module knows the engines. DuckDB
(embedded) is the default; Spark serves a network whose data no longer fit one machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.types as ir

from ketaclinic.errors import InvalidInput

Engine = Literal["duckdb", "spark"]
ENGINES: tuple[Engine, ...] = ("duckdb", "spark")
TABLES = ("patients", "courses", "sessions", "scores", "vitals", "adverse_events")
# The columns the analytics read (docs/research-dataset.md); other columns are allowed.
REQUIRED_COLUMNS = {
    "patients": ("patient_key", "site_id", "sex", "age_years", "primary_indication"),
    "courses": (
        "course_key", "patient_key", "protocol_id", "route", "dose_mg_per_kg", "dose_mg",
        "dropped_out", "induction_end_day",
    ),
    "sessions": ("session_key", "course_key", "patient_key", "day", "status", "bp_alert"),
    "scores": ("patient_key", "course_key", "instrument", "day", "total"),
    "vitals": ("session_key", "patient_key", "minute"),
    "adverse_events": ("patient_key", "course_key", "session_key", "term", "serious"),
}  # fmt: skip


@dataclass(frozen=True)
class Dataset:
    """The six research-dataset tables as Ibis expressions on one backend."""

    engine: Engine
    backend: Any
    patients: ir.Table
    courses: ir.Table
    sessions: ir.Table
    scores: ir.Table
    vitals: ir.Table
    adverse_events: ir.Table


def parse_engine(value: str) -> Engine:
    if value == "duckdb":
        return "duckdb"
    if value == "spark":
        return "spark"
    raise InvalidInput(
        f"Unknown engine '{value}'; use one of: {', '.join(ENGINES)}.", field="engine"
    )


def spark_session(master: str = "local[*]", *, shuffle_partitions: int = 4) -> Any:
    """A quiet local Spark session (no web UI; few shuffle partitions, as on one machine the
    default 200 mostly costs task overhead)."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master(master)
        .appName("ketaclinic-cohort")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def connect(engine: Engine = "duckdb", *, spark: Any = None) -> Any:
    """An Ibis backend: embedded DuckDB, or PySpark on ``spark`` (a local session if None)."""
    if engine == "duckdb":
        return ibis.duckdb.connect()
    return ibis.pyspark.connect(spark if spark is not None else spark_session())


def open_dataset(folder: Path, engine: Engine = "duckdb", *, backend: Any = None) -> Dataset:
    """Read ``folder/<table>/*.parquet`` for every table; InvalidInput names a missing one."""
    missing = [name for name in TABLES if not any((folder / name).glob("*.parquet"))]
    if missing:
        raise InvalidInput(
            f"{folder} is not a research dataset: no Parquet files for {', '.join(missing)} "
            f"(expected one folder per table: {', '.join(TABLES)}).",
            field="data",
        )
    con = backend if backend is not None else connect(engine)
    tables: dict[str, ir.Table] = {}
    for name in TABLES:
        # DuckDB reads a glob; Spark reads the folder itself (it lists the parts).
        path = str(folder / name / "*.parquet") if engine == "duckdb" else str(folder / name)
        tables[name] = con.read_parquet(path, table_name=f"kc_{name}")
        absent = [c for c in REQUIRED_COLUMNS[name] if c not in tables[name].columns]
        if absent:
            raise InvalidInput(
                f"Table '{name}' in {folder} lacks column(s) {', '.join(absent)} "
                "(see docs/research-dataset.md).",
                field="data",
            )
    return Dataset(engine=engine, backend=con, **tables)
