"""The de-identified research registry: a clinic database written as the research dataset of
docs/research-dataset.md, so the cohort report runs on a real clinic's data as on a synthetic one.

Only patients whose research consent is in force at the export time are included. Keys are keyed
pseudonyms (``interop.deidentify``); times are whole days from day 0, never calendar dates; ages
are capped at 90 ("90 or over"). Courses, sessions, session vitals and adverse events come from
the treatment plans and supervised sessions (``registry_courses``); each score belongs to the course
whose window holds it (from its day 0 to the next course's; scores before every course to the
first) and counts its days from that course's day 0, or from the first questionnaire for a patient
without a course.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketaclinic.clinical.record import ConditionCategory, condition_definition
from ketaclinic.interop.deidentify import Deidentifier, safe_harbor_age
from ketaclinic.interop.fhir.source import load_patient_data
from ketaclinic.interop.registry_courses import course_tables
from ketaclinic.services.consents import research_consented_patient_ids
from ketaclinic.services.context import RequestContext
from ketaclinic.services.patients import get_patient_summary
from ketaclinic.storage.tables.patients import PatientRow

SCHEMAS: dict[str, pa.Schema] = {
    "patients": pa.schema(
        [("patient_key", pa.string()), ("site_id", pa.string()), ("sex", pa.string()),
         ("age_years", pa.int32()), ("primary_indication", pa.string()),
         ("adequate_failed_trials", pa.int32())]
    ),
    "courses": pa.schema(
        [("course_key", pa.string()), ("patient_key", pa.string()), ("protocol_id", pa.string()),
         ("route", pa.string()), ("dose_mg_per_kg", pa.float64()), ("dose_mg", pa.float64()),
         ("planned_sessions", pa.int32()), ("completed_sessions", pa.int32()),
         ("dropped_out", pa.bool_()), ("induction_end_day", pa.int32())]
    ),
    "sessions": pa.schema(
        [("session_key", pa.string()), ("course_key", pa.string()), ("patient_key", pa.string()),
         ("day", pa.int32()), ("status", pa.string()), ("dose_mg", pa.float64()),
         ("bp_alert", pa.bool_()), ("max_systolic_rise_mmhg", pa.float64())]
    ),
    "scores": pa.schema(
        [("patient_key", pa.string()), ("course_key", pa.string()), ("instrument", pa.string()),
         ("day", pa.int32()), ("total", pa.float64())]
    ),
    "vitals": pa.schema(
        [("session_key", pa.string()), ("patient_key", pa.string()), ("minute", pa.int32()),
         ("systolic_mmhg", pa.float64()), ("diastolic_mmhg", pa.float64()),
         ("heart_rate_bpm", pa.float64()), ("spo2_percent", pa.float64()),
         ("respiratory_rate_per_min", pa.float64())]
    ),
    "adverse_events": pa.schema(
        [("patient_key", pa.string()), ("course_key", pa.string()), ("session_key", pa.string()),
         ("day", pa.int32()), ("term", pa.string()), ("serious", pa.bool_()),
         ("severity", pa.string())]
    ),
}  # fmt: skip

# Written beside the tables (docs/research-dataset.md, "dataset.json"): where the data came from.
PRODUCER = "ketaclinic export registry"
# Which indication a patient counts under when several are recorded: the most specific first.
_INDICATION_ORDER = ("trd", "mdd-psychotic", "bipolar-depression", "mdd", "ptsd", "ocd", "gad")


@dataclass
class RegistrySummary:
    out_dir: Path
    patients: int = 0
    left_out_without_consent: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def _primary_indication(condition_ids: list[str]) -> str | None:
    indications = [
        c for c in condition_ids
        if condition_definition(c).category == ConditionCategory.INDICATION
    ]  # fmt: skip
    for wanted in _INDICATION_ORDER:
        if wanted in indications:
            return wanted
    return indications[0] if indications else None


def export_registry(
    db: Session,
    ctx: RequestContext,
    out_dir: Path,
    deidentifier: Deidentifier,
    *,
    site_id: str = "site-1",
    total_patients: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> RegistrySummary:
    """Write ``out_dir/<table>/part-00000.parquet`` for the six research-dataset tables."""
    consented = research_consented_patient_ids(db, at=ctx.now)
    columns: dict[str, dict[str, list[object]]] = {
        name: {f.name: [] for f in schema} for name, schema in SCHEMAS.items()
    }
    for patient_id in consented:
        data = load_patient_data(db, patient_id)
        patient_key = deidentifier.registry_key(patient_id)
        courses = course_tables(db, data, deidentifier, patient_key, as_of=ctx.now.date())
        for name in ("courses", "sessions", "vitals", "adverse_events"):
            for table_row in getattr(courses, name):
                for column, value in table_row.items():
                    columns[name][column].append(value)
        responses = sorted(data.responses, key=lambda r: r.administered_at)
        # No course yet: scores count from the first questionnaire, under a placeholder course
        # key that matches no course row.
        placeholder = (
            deidentifier.pseudonym(f"course:{patient_id}"),
            responses[0].administered_at.date() if responses else ctx.now.date(),
        )
        first_course = courses.course_of(date.min) or placeholder
        summary = get_patient_summary(db, ctx, patient_id)
        row = {
            "patient_key": patient_key,
            "site_id": site_id,
            "sex": data.patient.sex,
            "age_years": safe_harbor_age(data.patient.date_of_birth, first_course[1]),
            "primary_indication": _primary_indication([d.condition_id for d in data.diagnoses]),
            "adequate_failed_trials": summary.adequate_failed_trials,
        }
        for name, value in row.items():
            columns["patients"][name].append(value)
        for response in responses:
            when = response.administered_at.date()
            # Each score belongs to the course whose window holds it, its day counted from
            # that course's day 0.
            course_key, day_zero = courses.course_of(when) or placeholder
            score = {
                "patient_key": patient_key,
                "course_key": course_key,
                "instrument": response.instrument_id,
                "day": (when - day_zero).days,
                "total": response.total,
            }
            for name, value in score.items():
                columns["scores"][name].append(value)
        if progress is not None:
            progress(1)
    result = RegistrySummary(out_dir, patients=len(consented))
    if total_patients is None:
        total_patients = db.scalar(select(func.count()).select_from(PatientRow)) or 0
    result.left_out_without_consent = total_patients - len(consented)
    for name, schema in SCHEMAS.items():
        folder = out_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pydict(columns[name], schema=schema)
        pq.write_table(table, folder / "part-00000.parquet")
        result.counts[name] = table.num_rows
    provenance = {
        "producer": PRODUCER,
        "site_id": site_id,
        "exported_on": ctx.now.date().isoformat(),
        "patients": result.patients,
        "left_out_without_research_consent": result.left_out_without_consent,
        "rows": result.counts,
    }
    (out_dir / "dataset.json").write_text(json.dumps(provenance, indent=2), encoding="utf-8")
    return result


@contextmanager
def temporary_registry(
    db: Session,
    ctx: RequestContext,
    deidentifier: Deidentifier,
    *,
    site_id: str = "site-1",
    total_patients: int | None = None,
) -> Iterator[RegistrySummary]:
    """The registry written to a private temporary folder (owner-only, removed on exit), for
    analyses of the clinic's own database that need no copy to stay behind."""
    with tempfile.TemporaryDirectory(prefix="ketaclinic-registry-") as folder:
        yield export_registry(
            db, ctx, Path(folder), deidentifier, site_id=site_id, total_patients=total_patients
        )
