"""Small research datasets for the analytics tests: hand-made ones and a synthetic one."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ketaclinic.synthetic.cohort import stream_cohort

# docs/research-dataset.md: column:type per table.
_SPECS = {
    "patients": "patient_key:s site_id:s sex:s age_years:i primary_indication:s "
    "adequate_failed_trials:i",
    "courses": "course_key:s patient_key:s protocol_id:s route:s dose_mg_per_kg:f dose_mg:f "
    "planned_sessions:i completed_sessions:i dropped_out:b induction_end_day:i",
    "sessions": "session_key:s course_key:s patient_key:s day:i status:s dose_mg:f bp_alert:b "
    "max_systolic_rise_mmhg:f",
    "scores": "patient_key:s course_key:s instrument:s day:i total:f",
    "vitals": "session_key:s patient_key:s minute:i systolic_mmhg:f diastolic_mmhg:f "
    "heart_rate_bpm:f spo2_percent:f respiratory_rate_per_min:f",
    "adverse_events": "patient_key:s course_key:s session_key:s day:i term:s serious:b severity:s",
}
_TYPES = {"s": pa.string(), "i": pa.int32(), "f": pa.float64(), "b": pa.bool_()}


def _schema(spec: str) -> pa.Schema:
    return pa.schema([(name, _TYPES[kind]) for name, kind in (c.split(":") for c in spec.split())])


def write_dataset(folder: Path, tables: dict[str, list[dict[str, object]]]) -> Path:
    """Write hand-made rows as a research dataset; missing tables get typed empty files."""
    schemas = {name: _schema(spec) for name, spec in _SPECS.items()}
    for name, schema in schemas.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist(tables.get(name, []), schema=schema)
        pq.write_table(table, folder / name / "part-00000.parquet")
    return folder


def synthetic_dataset(folder: Path, patients: int = 2_500, seed: int = 21) -> Path:
    stream_cohort(folder, patients=patients, seed=seed, sites=3, show_progress=False)
    return folder
