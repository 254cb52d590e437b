"""Stream a synthetic network of clinics to the research dataset (docs/research-dataset.md).

Patients are generated in fixed blocks of :data:`BLOCK_PATIENTS`, each from its own generator
seeded by ``(seed, block index)``, and blocks are grouped into Parquet parts. So memory stays
bounded by one part, and the data are the same for a seed whatever the part size.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from ketaclinic.clinical.policy import ProtocolKind, default_policy
from ketaclinic.clinical.vocabulary import Route
from ketaclinic.errors import InvalidInput
from ketaclinic.synthetic.cohort_model import (
    CohortModel,
    ResolvedCourse,
    cohort_model,
    resolve_courses,
)
from ketaclinic.synthetic.cohort_tables import CourseBlock, course_block_tables
from ketaclinic.synthetic.trajectories import cutoffs_for

BLOCK_PATIENTS = 5_000
TABLES = ("patients", "courses", "sessions", "scores", "vitals", "adverse_events")
GENERATOR_VERSION = "1"

# The policy kind whose blood-pressure alert threshold applies to each route.
_POLICY_KIND = {
    Route.IV: ProtocolKind.IV_RACEMIC,
    Route.INTRANASAL: ProtocolKind.INTRANASAL_ESKETAMINE,
}


@dataclass(frozen=True)
class CohortSummary:
    out_dir: Path
    patients: int
    sites: int
    seed: int
    rows: dict[str, int]


def _population_block(
    rng: np.random.Generator, model: CohortModel, first: int, n: int, sites: int
) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """Patients of one block, their keys and their primary indications."""
    pop = model.population
    keys = [f"syn{index:09d}" for index in range(first, first + n)]
    site = rng.integers(0, sites, size=n)
    female = rng.random(n) < pop.female_share
    age = rng.integers(pop.age_years["min"], pop.age_years["max"] + 1, size=n)
    weights = np.array([w.weight for w in pop.indications])
    indication = rng.choice(len(weights), size=n, p=weights / weights.sum())
    names = np.array([w.indication.value for w in pop.indications])
    extra = rng.binomial(
        int(pop.extra_failed_trials_binomial["trials"]),
        pop.extra_failed_trials_binomial["p"],
        size=n,
    )
    is_trd = names[indication] == "trd"
    failed = np.where(is_trd, 2 + extra, np.minimum(extra, 1))
    table = pa.table(
        {
            "patient_key": pa.array(keys, pa.string()),
            "site_id": pa.array([f"site-{s + 1:03d}" for s in site], pa.string()),
            "sex": pa.array(np.where(female, "F", "M"), pa.string()),
            "age_years": pa.array(np.minimum(age, 90), pa.int32()),
            "primary_indication": pa.array(names[indication], pa.string()),
            "adequate_failed_trials": pa.array(failed, pa.int32()),
        }
    )
    return table, np.array(keys, dtype=object), names[indication]


def generate_block(
    seed: int, block_index: int, n: int, sites: int, courses: tuple[ResolvedCourse, ...]
) -> dict[str, pa.Table]:
    """All six tables for patients ``block_index * BLOCK_PATIENTS`` onwards."""
    model = cohort_model()
    rng = np.random.default_rng([seed, block_index])
    patients, keys, indication = _population_block(
        rng, model, block_index * BLOCK_PATIENTS, n, sites
    )
    weights = np.array([c.weight for c in model.courses])
    choice = rng.choice(len(weights), size=n, p=weights / weights.sum())
    # A patient whose indication is outside the drawn protocol's label (esketamine is for TRD)
    # gets the first course type instead, as a clinic would offer IV ketamine off-label.
    for index, course in enumerate(courses):
        off_label = (choice == index) & ~np.isin(indication, course.indications)
        choice[off_label] = 0
    parts: dict[str, list[pa.Table]] = {name: [] for name in TABLES if name != "patients"}
    for index, course in enumerate(courses):
        members = np.flatnonzero(choice == index)
        if members.size == 0:
            continue
        block = CourseBlock(
            course=course,
            patient_keys=keys[members],
            cutoffs=cutoffs_for(course.instrument),
            bp_rise_alert_mmhg=default_policy(_POLICY_KIND[course.route]).number(
                "bp_rise_systolic_mmhg"
            ),
        )
        for name, table in course_block_tables(rng, block, model).items():
            parts[name].append(table)
    out = {"patients": patients}
    for name, tables in parts.items():
        out[name] = pa.concat_tables(tables)
    return out


def _blocks(patients: int) -> Iterator[tuple[int, int]]:
    for block_index, first in enumerate(range(0, patients, BLOCK_PATIENTS)):
        yield block_index, min(BLOCK_PATIENTS, patients - first)


def stream_cohort(
    out_dir: Path,
    *,
    patients: int,
    seed: int = 0,
    sites: int = 1,
    part_patients: int = 100_000,
    show_progress: bool = True,
) -> CohortSummary:
    """Write ``patients`` synthetic patients to ``out_dir/<table>/part-NNNNN.parquet``."""
    if patients < 1:
        raise InvalidInput("patients must be at least 1.", field="patients")
    if sites < 1:
        raise InvalidInput("sites must be at least 1.", field="sites")
    if part_patients < 1:
        raise InvalidInput("part_patients must be at least 1.", field="part_patients")
    courses = resolve_courses()
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        # A re-run replaces the dataset rather than mixing two seeds in one folder.
        shutil.rmtree(out_dir / name, ignore_errors=True)
        (out_dir / name).mkdir()
    blocks_per_part = max(1, part_patients // BLOCK_PATIENTS)
    rows = dict.fromkeys(TABLES, 0)
    pending: dict[str, list[pa.Table]] = {name: [] for name in TABLES}
    part = 0

    def flush() -> None:
        nonlocal part
        for name in TABLES:
            if pending[name]:
                table = pa.concat_tables(pending[name])
                pq.write_table(table, out_dir / name / f"part-{part:05d}.parquet")
                rows[name] += table.num_rows
                pending[name] = []
        part += 1

    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        # Standard error, so standard output stays free for the command's JSON summary.
        console=Console(stderr=True),
        disable=not show_progress,
    )
    with progress:
        task = progress.add_task("synthetic patients", total=patients)
        for block_index, n in _blocks(patients):
            for name, table in generate_block(seed, block_index, n, sites, courses).items():
                pending[name].append(table)
            progress.advance(task, n)
            if (block_index + 1) % blocks_per_part == 0:
                flush()
        if pending["patients"]:
            flush()
    manifest = {
        "generator": "ketaclinic.synthetic.cohort",
        "generator_version": GENERATOR_VERSION,
        "patients": patients,
        "sites": sites,
        "seed": seed,
        "rows": rows,
        "calibration": {c.id: list(c.targets.benchmark_ids) for c in courses},
        "note": "Synthetic data: no real person is described.",
    }
    (out_dir / "dataset.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return CohortSummary(out_dir=out_dir, patients=patients, sites=sites, seed=seed, rows=rows)
