"""Run a virtual population and summarise it: percentile bands, means, exposure, band occupancy."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ketaclinic.pharmacology.checks import check_population_request
from ketaclinic.pharmacology.parameters import FloatArray
from ketaclinic.pharmacology.population import PopulationRequest, Tally, run_tasks
from ketaclinic.pharmacology.schema import load_model_spec, load_pharmacodynamics
from ketaclinic.pharmacology.sketch import quantiles

DEFAULT_PERCENTILES: tuple[float, ...] = (5.0, 50.0, 95.0)


@dataclass(frozen=True)
class PopulationResult:
    model_id: str
    n_subjects: int
    seed: int
    times_min: FloatArray
    percentiles: tuple[float, ...]
    # output -> (len(percentiles), times) in ng/mL
    bands_ng_ml: dict[str, FloatArray]
    mean_ng_ml: dict[str, FloatArray]
    # "concentration:cmax" / ":auc" -> percentiles of per-subject Cmax (ng/mL) and AUC (ng·h/mL)
    exposure: dict[str, FloatArray]
    # band id -> fraction of subjects inside the band at each time
    fraction_in_band: dict[str, FloatArray]
    observations: bool
    notes: tuple[str, ...]
    warnings: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model_id,
            "subjects": self.n_subjects,
            "seed": self.seed,
            "observations": self.observations,
            "times_min": self.times_min.tolist(),
            "percentiles": list(self.percentiles),
            "bands_ng_ml": {k: v.tolist() for k, v in self.bands_ng_ml.items()},
            "mean_ng_ml": {k: v.tolist() for k, v in self.mean_ng_ml.items()},
            "exposure": {k: v.tolist() for k, v in self.exposure.items()},
            "fraction_in_band": {k: v.tolist() for k, v in self.fraction_in_band.items()},
            "notes": list(self.notes),
            "warnings": list(self.warnings),
        }


def summarise(
    request: PopulationRequest, tally: Tally, percentiles: tuple[float, ...]
) -> PopulationResult:
    spec = load_model_spec(request.model_id)
    wanted = np.asarray(percentiles, dtype=np.float64)
    bands: dict[str, FloatArray] = {}
    exposure: dict[str, FloatArray] = {}
    for key, counts in tally.counts.items():
        if ":" in key:
            exposure[key] = quantiles(counts, wanted)[:, 0]
        else:
            bands[key] = quantiles(counts, wanted)
    notes = [
        "Percentiles from log-scale histograms (bin width 0.39%); Cmax and AUC use the output "
        "time grid "
        "(AUC by the trapezoidal rule).",
        f"Sampling site: {spec.sampling.site}. {spec.sampling.note}",
    ]
    if not spec.variable_parameters:
        notes.append(
            f"The {spec.id} model has no published inter-individual variability: the spread "
            "shown comes "
            "from covariates only."
        )
    notes.extend(_covariate_notes(request))
    return PopulationResult(
        model_id=spec.id,
        n_subjects=tally.n,
        seed=request.seed,
        times_min=np.asarray(request.times_min, dtype=np.float64),
        percentiles=tuple(float(p) for p in percentiles),
        bands_ng_ml=bands,
        mean_ng_ml={k: v / tally.n for k, v in tally.sums.items()},
        exposure=exposure,
        fraction_in_band={k: v / tally.n for k, v in tally.in_band.items()},
        observations=request.observations,
        notes=tuple(notes),
        warnings=tuple(check_population_request(request)),
    )


def _covariate_notes(request: PopulationRequest) -> list[str]:
    reference = request.covariates.weight_kg
    varied = request.spread.weight_bounds(request.covariates) != (reference, reference)
    notes: list[str] = []
    if request.per_kg_doses:
        notes.append(
            "Doses are per kg: computed at each subject's own weight (the plan's dose for "
            f"{reference:g} kg scaled by weight / {reference:g} kg)."
        )
    elif varied:
        notes.append(
            f"Doses are fixed in mg (the plan's for {reference:g} kg) for every subject, "
            "whatever the weight."
        )
    if request.covariate_table is not None:
        notes.append(
            f"Covariates drawn with replacement from a table of {len(request.covariate_table)} "
            "rows."
        )
    if request.female_fraction is not None:
        notes.append("Sex varies across subjects but changes no prediction in these models.")
    if request.wants_effect_site:
        half_time = request.effect_half_time_min or load_pharmacodynamics().effect_half_time_min()
        notes.append(f"Effect site: equilibration half-time {half_time:g} min.")
    return notes


def simulate_population(
    request: PopulationRequest,
    *,
    percentiles: tuple[float, ...] = DEFAULT_PERCENTILES,
    workers: int | None = None,
    progress: bool = False,
) -> PopulationResult:
    """Run locally: in-process for one worker, else over a process pool (default: all cores)."""
    check_population_request(request)
    worker_count = workers if workers is not None else (os.cpu_count() or 1)
    # A pool costs about a second to start; one task's worth of subjects runs in-process.
    worker_count = min(worker_count, request.n_tasks)
    if not progress:
        return summarise(request, run_tasks(request, worker_count), percentiles)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("subjects"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task("simulate", total=request.n_subjects)
        tally = run_tasks(request, worker_count, lambda done: bar.advance(task, done))
    return summarise(request, tally, percentiles)
