"""Virtual populations: inter-individual variability, covariates, residual error, percentiles.

A run is split into fixed chunks of subjects; chunk k draws from numpy's Generator seeded with
(seed, k), so a chunk's subjects do not depend on who computes it. Chunks are grouped into tasks;
each task returns integer histogram counts (see ``sketch``) and ordered float sums, and tasks are
merged in task order. The same request therefore gives identical results in-process, over a
local process pool and on Spark, with memory bounded by one chunk per worker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ketaclinic.clinical.vocabulary import Route
from ketaclinic.errors import InvalidInput
from ketaclinic.pharmacology.covariate_sampling import CovariateSpread
from ketaclinic.pharmacology.parameters import Covariates, FloatArray, individual_values
from ketaclinic.pharmacology.pd import check_effect_half_time
from ketaclinic.pharmacology.regimen import Regimen
from ketaclinic.pharmacology.schema import ModelSpec, load_model_spec, load_pharmacodynamics
from ketaclinic.pharmacology.sketch import CountArray, bin_counts, bin_index
from ketaclinic.pharmacology.solver import concentration_ng_ml, modal_form
from ketaclinic.pharmacology.structures import build_model

MAX_SUBJECTS = 100_000_000


@dataclass(frozen=True)
class PopulationRequest:
    model_id: str
    regimen: Regimen
    times_min: tuple[float, ...]
    n_subjects: int
    seed: int
    covariates: Covariates
    # Weights drawn uniformly from this range (kg) instead of the patient's weight.
    weight_range_kg: tuple[float, float] | None = None
    # Ages drawn uniformly from this range (years) instead of the patient's age.
    age_range_years: tuple[float, float] | None = None
    # Probability that a subject is female / of Asian ancestry / Japanese (Japanese subjects are
    # Asian too); None keeps the patient's value for everyone.
    female_fraction: float | None = None
    asian_fraction: float | None = None
    japanese_fraction: float | None = None
    # Instead of ranges and fractions: subjects drawn with replacement from these rows.
    covariate_table: tuple[Covariates, ...] | None = None
    # The regimen's amounts are for a patient of covariates.weight_kg; True scales each
    # subject's doses by its own weight (a per-kg dose), False gives everyone the same mg.
    per_kg_doses: bool = False
    observations: bool = False
    effect_site: bool = False
    # Effect-site equilibration half-time (min); setting it also adds the effect-site output.
    effect_half_time_min: float | None = None
    chunk_size: int = 10_000
    chunks_per_task: int = 10

    def __post_init__(self) -> None:
        if not 1 <= self.n_subjects <= MAX_SUBJECTS:
            raise InvalidInput(
                f"Number of subjects must be between 1 and {MAX_SUBJECTS:,} (got "
                f"{self.n_subjects}).",
                field="subjects",
            )
        if self.chunk_size < 1 or self.chunks_per_task < 1:
            raise InvalidInput(
                "Chunk size and chunks per task must be at least 1.", field="chunk_size"
            )
        times = np.asarray(self.times_min)
        if times.size == 0 or np.any(np.diff(times) < 0) or np.any(times < 0):
            raise InvalidInput(
                "Times must be 0 min or later and in increasing order.", field="times"
            )
        self.spread.check()
        if self.effect_half_time_min is not None:
            check_effect_half_time(self.effect_half_time_min)
        if self.per_kg_doses:
            spec = load_model_spec(self.model_id)
            if spec.device is not None and Route.INTRANASAL in self.regimen.routes:
                raise InvalidInput(
                    f"Intranasal doses with the {spec.id} model are whole "
                    f"{spec.device.amount_mg:g}-mg devices, not per kilogram; give the dose in mg.",
                    field="dose",
                )

    @property
    def spread(self) -> CovariateSpread:
        return CovariateSpread(
            self.weight_range_kg,
            self.age_range_years,
            self.female_fraction,
            self.asian_fraction,
            self.japanese_fraction,
            self.covariate_table,
        )

    @property
    def wants_effect_site(self) -> bool:
        return self.effect_site or self.effect_half_time_min is not None

    @property
    def n_chunks(self) -> int:
        return -(-self.n_subjects // self.chunk_size)

    @property
    def n_tasks(self) -> int:
        return -(-self.n_chunks // self.chunks_per_task)

    def chunks_of_task(self, task: int) -> range:
        return range(
            task * self.chunks_per_task, min((task + 1) * self.chunks_per_task, self.n_chunks)
        )

    def outputs(self) -> tuple[str, ...]:
        spec = load_model_spec(self.model_id)
        names = ["concentration"]
        if spec.metabolite is not None:
            names.append("metabolite")
        if self.wants_effect_site:
            names.append("effect")
        return tuple(names)


@dataclass
class Tally:
    """Mergeable summary of any number of subjects."""

    n: int = 0
    counts: dict[str, CountArray] = field(default_factory=dict)
    sums: dict[str, FloatArray] = field(default_factory=dict)
    in_band: dict[str, FloatArray] = field(default_factory=dict)

    def add(self, other: Tally) -> None:
        self.n += other.n
        _merge(self.counts, other.counts)
        _merge(self.sums, other.sums)
        _merge(self.in_band, other.in_band)


def _merge(target: dict[str, Any], source: dict[str, Any]) -> None:
    for key, value in source.items():
        target[key] = target[key] + value if key in target else value.copy()


def covariance_cholesky(spec: ModelSpec) -> tuple[tuple[str, ...], FloatArray]:
    """Names of the parameters with IIV and the Cholesky factor of their eta covariance."""
    variable = spec.variable_parameters
    names = tuple(p.id for p in variable)
    omega = np.array([p.omega for p in variable])
    correlation = np.eye(len(names))
    for pair in spec.correlations:
        i, j = names.index(pair.first), names.index(pair.second)
        correlation[i, j] = correlation[j, i] = pair.r
    covariance = correlation * np.outer(omega, omega)
    factor = np.asarray(
        np.linalg.cholesky(covariance) if names else np.zeros((0, 0)), dtype=np.float64
    )
    return names, factor


def simulate_chunk(request: PopulationRequest, chunk: int) -> tuple[dict[str, FloatArray], int]:
    """Concentrations (ng/mL, subjects x times) of one chunk, with residual error if requested."""
    spec = load_model_spec(request.model_id)
    first = chunk * request.chunk_size
    m = min(request.chunk_size, request.n_subjects - first)
    rng = np.random.default_rng([request.seed, chunk])
    covariates = request.spread.sample(request.covariates, rng, m)
    names, cholesky = covariance_cholesky(spec)
    etas: dict[str, FloatArray] = {}
    if names:
        draws = rng.standard_normal((m, len(names))) @ cholesky.T
        etas = {name: draws[:, k] for k, name in enumerate(names)}
    values = individual_values(spec, covariates, etas)
    half_time = None
    if request.wants_effect_site:
        half_time = request.effect_half_time_min or load_pharmacodynamics().effect_half_time_min()
    built = build_model(
        spec, values, request.regimen, effect_half_time_min=half_time, japanese=covariates.japanese
    )
    events = built.events
    if request.per_kg_doses:
        # Linear models: each subject's doses are the reference patient's times its weight ratio.
        factor = covariates.weight_kg / request.covariates.weight_kg
        events = [replace(event, amount_mg=event.amount_mg * factor) for event in events]
    modal = modal_form(built.system)
    times = np.asarray(request.times_min, dtype=np.float64)
    result: dict[str, FloatArray] = {}
    for output in request.outputs():
        values_ng_ml = concentration_ng_ml(built.system, modal, events, output, times)
        if request.observations and output != "effect":
            values_ng_ml = _with_residual_error(spec, output, values_ng_ml, rng)
        result[output] = values_ng_ml
    return result, m


def _with_residual_error(
    spec: ModelSpec, output: str, values: FloatArray, rng: np.random.Generator
) -> FloatArray:
    residual = next((r for r in spec.residuals if r.output == output), None)
    if residual is None:
        raise InvalidInput(
            f"The {spec.id} model has no published residual error, so simulated observations "
            "are not "
            "available; run without observations (model predictions only).",
            field="observations",
        )
    epsilon = rng.standard_normal(values.shape) * residual.sd
    if residual.kind == "log-additive":
        return values * np.exp(epsilon)
    # Proportional error can go negative; an assay reports those as below quantification (0).
    return np.maximum(values * (1.0 + epsilon), 0.0)


def tally_chunk(request: PopulationRequest, chunk: int) -> Tally:
    series, m = simulate_chunk(request, chunk)
    tally = Tally(n=m)
    times = np.asarray(request.times_min, dtype=np.float64)
    # Trapezoidal weights, so each subject's AUC is one matrix-vector product.
    steps = np.diff(times)
    weights = np.zeros_like(times)
    weights[:-1] += steps / 2.0
    weights[1:] += steps / 2.0
    for output, values in series.items():
        tally.counts[output] = bin_counts(values)
        tally.sums[output] = values.sum(axis=0)
        peak = values.max(axis=1, keepdims=True)
        area = (values @ weights)[:, None] / 60.0
        tally.counts[f"{output}:cmax"] = bin_counts(peak)
        tally.counts[f"{output}:auc"] = bin_counts(area)
    # Band membership is read from the histogram (no extra pass over the data): a band edge is
    # resolved to the 0.39% bin that contains it.
    counts = tally.counts["concentration"]
    for band in load_pharmacodynamics().bands:
        low_bin, high_bin = bin_index(band.low_ng_ml), bin_index(band.high_ng_ml)
        tally.in_band[band.id] = counts[:, low_bin : high_bin + 1].sum(axis=1).astype(np.float64)
    return tally


def tally_task(request: PopulationRequest, task: int) -> Tally:
    total = Tally()
    for chunk in request.chunks_of_task(task):
        total.add(tally_chunk(request, chunk))
    return total


def run_tasks(
    request: PopulationRequest,
    workers: int,
    on_task_done: Callable[[int], None] | None = None,
) -> Tally:
    """All tasks, merged in task order; ``workers`` > 1 uses a local process pool."""
    total = Tally()
    tasks = range(request.n_tasks)
    results: Iterator[Tally]
    if workers <= 1:
        results = (tally_task(request, task) for task in tasks)
        for tally in results:
            total.add(tally)
            if on_task_done:
                on_task_done(tally.n)
        return total
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers) as pool:
        for tally in pool.map(tally_task, [request] * len(tasks), tasks):
            total.add(tally)
            if on_task_done:
                on_task_done(tally.n)
    return total
