"""OMOP export: the column copy matches the official spec, and the export loads into the official
v5.4 DDL (built from OMOP_CDMv5.4_Field_Level.csv) in DuckDB and, on the PostgreSQL backend, in
PostgreSQL itself."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest
from interop_clinic import PHQ9_WEEKLY, Clinic
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ketaclinic.interop.deidentify import Deidentifier
from ketaclinic.interop.fhir.source import all_patient_ids
from ketaclinic.interop.omop import OMOP_TABLES, export_omop
from ketaclinic.services.context import RequestContext
from support.treated_course import RESPONDING_PHQ9, treated_patient

# The official OHDSI field-level specification of CDM v5.4, copied unchanged next to the tests.
SPEC = Path(__file__).parent / "data" / "OMOP_CDMv5.4_Field_Level.csv"


def _spec() -> dict[str, list[tuple[str, str, bool]]]:
    found: dict[str, list[tuple[str, str, bool]]] = {}
    with SPEC.open(encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            found.setdefault(row["cdmTableName"].lower(), []).append(
                (row["cdmFieldName"], row["cdmDatatype"].lower(), row["isRequired"] == "Yes")
            )
    return found


def _sql_type(cdm_type: str) -> str:
    # The official DDL's mapping (PostgreSQL flavour); DuckDB accepts the same names.
    if cdm_type == "integer":
        return "INTEGER"
    if cdm_type == "float":
        return "NUMERIC"
    if cdm_type == "datetime":
        return "TIMESTAMP"
    if cdm_type == "date":
        return "DATE"
    if cdm_type == "varchar(max)":
        return "TEXT"
    return cdm_type.upper()


# The official primary keys (OMOP CDM v5.4 primary-key constraints file): each table's own id.
PRIMARY_KEYS = {
    "person": "person_id",
    "observation_period": "observation_period_id",
    "visit_occurrence": "visit_occurrence_id",
    "condition_occurrence": "condition_occurrence_id",
    "drug_exposure": "drug_exposure_id",
    "measurement": "measurement_id",
    "observation": "observation_id",
}


def _ddl(table: str, schema: str = "") -> str:
    columns = ",\n".join(
        f"{name} {_sql_type(kind)}{' NOT NULL' if required else ''}"
        for name, kind, required in _spec()[table]
    )
    return f"CREATE TABLE {schema}{table} (\n{columns},\nPRIMARY KEY ({PRIMARY_KEYS[table]})\n)"


def test_the_column_copy_matches_the_official_specification() -> None:
    spec = _spec()
    for table, columns in OMOP_TABLES.items():
        assert list(columns) == spec[table], table


@pytest.fixture
def omop_csv(db: Session, ctx: RequestContext, clinic: Clinic, tmp_path: Path) -> Path:
    out = tmp_path / "omop"
    export_omop(db, out, all_patient_ids(db), as_of=ctx.now.date(), fmt="csv")
    return out


def test_csv_export_loads_into_the_official_ddl_in_duckdb(omop_csv: Path) -> None:
    con = duckdb.connect()
    for table in OMOP_TABLES:
        con.execute(_ddl(table))
        con.execute(
            f"INSERT INTO {table} SELECT * FROM read_csv('{omop_csv / (table + '.csv')}', "
            "header=true, all_varchar=true)"
        )
    assert con.execute("SELECT count(*) FROM person").fetchone() == (3,)
    # Every PHQ-9 total and its nine items: (1 + 9) rows per response, LOINC as source value.
    totals = con.execute(
        "SELECT value_as_number FROM observation WHERE observation_source_value = '44261-6' "
        "ORDER BY observation_date"
    ).fetchall()
    assert [t[0] for t in totals] == [sum(week) for week in PHQ9_WEEKLY]
    item9 = con.execute(
        "SELECT count(*) FROM observation WHERE observation_source_value = '44260-8'"
    ).fetchone()
    assert item9 == (len(PHQ9_WEEKLY),)
    systolic = con.execute(
        "SELECT measurement_concept_id, unit_concept_id, value_as_number FROM measurement "
        "WHERE measurement_source_value = '8480-6' ORDER BY value_as_number"
    ).fetchall()
    assert systolic == [(3004249, 8876, 128), (3004249, 8876, 141)]
    # Every measurement on a clinic day points at that day's visit of the same person.
    orphans = con.execute(
        "SELECT count(*) FROM measurement m LEFT JOIN visit_occurrence v "
        "ON m.visit_occurrence_id = v.visit_occurrence_id AND m.person_id = v.person_id "
        "WHERE v.visit_occurrence_id IS NULL"
    ).fetchone()
    assert orphans == (0,)


def test_parquet_export_loads_too(
    db: Session, ctx: RequestContext, clinic: Clinic, tmp_path: Path, deidentifier: Deidentifier
) -> None:
    out = tmp_path / "omop-parquet"
    ids = all_patient_ids(db)
    export_omop(db, out, ids, as_of=ctx.now.date(), fmt="parquet", deidentifier=deidentifier)
    con = duckdb.connect()
    for table in OMOP_TABLES:
        con.execute(_ddl(table))
        con.execute(
            f"INSERT INTO {table} SELECT * FROM read_parquet('{out / (table + '.parquet')}')"
        )
    years = dict(
        con.execute(
            "SELECT gender_source_value, min(year_of_birth) FROM person GROUP BY 1"
        ).fetchall()
    )
    # The man born in 1931 is over 89: his year of birth is aggregated to "age 90".
    assert years["M"] == ctx.now.year - 90


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_csv_export_loads_into_postgresql(db_engine: Engine, omop_csv: Path) -> None:
    raw = db_engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("CREATE SCHEMA omop")
        for table in OMOP_TABLES:
            cursor.execute(_ddl(table, "omop."))
            with (
                (omop_csv / f"{table}.csv").open("rb") as handle,
                cursor.copy(  # type: ignore[attr-defined]
                    f"COPY omop.{table} FROM STDIN WITH (FORMAT csv, HEADER true)"
                ) as copy,
            ):
                copy.write(handle.read())
        cursor.execute("SELECT count(*) FROM omop.measurement")
        assert cursor.fetchone()[0] > 0
        cursor.execute("DROP SCHEMA omop CASCADE")
        raw.commit()
    finally:
        raw.close()


def test_no_event_lies_outside_its_persons_observation_period(
    db: Session, ctx: RequestContext, clinic: Clinic, tmp_path: Path
) -> None:
    # A treated patient adds session visits, the administration and adverse-event dates; the
    # interop clinic adds history recorded with its own dates (onset 2019, a trial in 2021).
    treated_patient(db, later_phq9=RESPONDING_PHQ9)
    out = tmp_path / "omop"
    export_omop(db, out, all_patient_ids(db), as_of=ctx.now.date(), fmt="csv")
    con = duckdb.connect()
    for table in OMOP_TABLES:
        con.execute(_ddl(table))
        con.execute(
            f"INSERT INTO {table} SELECT * FROM read_csv('{out / (table + '.csv')}', "
            "header=true, all_varchar=true)"
        )
    assert con.execute(
        "SELECT count(*) FROM drug_exposure WHERE lot_number IS NOT NULL"
    ).fetchone() == (1,)
    checked = 0
    for table, columns in OMOP_TABLES.items():
        if table in ("person", "observation_period"):
            continue
        for name, kind, _ in columns:
            if kind != "date":
                continue
            outside = con.execute(
                f"SELECT count(*) FROM {table} e JOIN observation_period p USING (person_id) "
                f"WHERE e.{name} IS NOT NULL AND (e.{name} < p.observation_period_start_date "
                f"OR e.{name} > p.observation_period_end_date)"
            ).fetchone()
            assert outside == (0,), f"{table}.{name}"
            checked += con.execute(f"SELECT count({name}) FROM {table}").fetchone()[0]
    assert checked > 0
    # One period per person.
    assert con.execute(
        "SELECT count(*), count(DISTINCT person_id) FROM observation_period"
    ).fetchone() == (4, 4)
