"""One patient, one plan: concentrations, effect site, metabolite, occupancy and metrics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ketaclinic.errors import InvalidInput
from ketaclinic.pharmacology.checks import check_regimen, dose_warnings, population_warnings
from ketaclinic.pharmacology.metrics import Metrics, compute_metrics
from ketaclinic.pharmacology.parameters import (
    CovariateArrays,
    Covariates,
    FloatArray,
    individual_values,
)
from ketaclinic.pharmacology.pd import (
    check_effect_half_time,
    nmda_occupancy,
    nmda_occupancy_range,
)
from ketaclinic.pharmacology.regimen import Regimen
from ketaclinic.pharmacology.schema import load_model_spec, load_pharmacodynamics
from ketaclinic.pharmacology.solver import concentration_ng_ml, modal_form
from ketaclinic.pharmacology.structures import BuiltModel, build_model

DEFAULT_HORIZON_MIN = 480.0


@dataclass(frozen=True)
class Prediction:
    model_id: str
    analyte: str
    metabolite: str | None
    sampling_site: str
    times_min: FloatArray
    concentration_ng_ml: FloatArray
    effect_site_ng_ml: FloatArray
    metabolite_ng_ml: FloatArray | None
    nmda_occupancy: FloatArray
    # Lowest and highest index over the published affinity readings (pd.py).
    nmda_occupancy_low: FloatArray
    nmda_occupancy_high: FloatArray
    metrics: Metrics
    notes: tuple[str, ...]
    warnings: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model_id,
            "analyte": self.analyte,
            "sampling_site": self.sampling_site,
            "times_min": self.times_min.tolist(),
            "concentration_ng_ml": self.concentration_ng_ml.tolist(),
            "effect_site_ng_ml": self.effect_site_ng_ml.tolist(),
            "nmda_occupancy": self.nmda_occupancy.tolist(),
            "nmda_occupancy_range": {
                "low": self.nmda_occupancy_low.tolist(),
                "high": self.nmda_occupancy_high.tolist(),
            },
        }
        if self.metabolite_ng_ml is not None:
            payload["metabolite"] = self.metabolite
            payload["metabolite_ng_ml"] = self.metabolite_ng_ml.tolist()
        payload.update(self.metrics.to_json())
        payload["notes"] = list(self.notes)
        payload["warnings"] = list(self.warnings)
        return payload


def default_times_min(
    regimen: Regimen, horizon_min: float = DEFAULT_HORIZON_MIN, points: int = 97
) -> FloatArray:
    end = max(horizon_min, regimen.last_dose_end_min)
    return np.linspace(0.0, end, points)


def check_times(times_min: Sequence[float] | FloatArray) -> FloatArray:
    times = np.asarray(times_min, dtype=np.float64)
    if times.ndim != 1 or times.size == 0:
        raise InvalidInput("Give at least one time point (minutes).", field="times")
    if not np.all(np.isfinite(times)) or np.any(times < 0):
        raise InvalidInput("Times must be finite and 0 min or later.", field="times")
    if np.any(np.diff(times) < 0):
        raise InvalidInput("Times must be in increasing order.", field="times")
    return times


def build_for_patient(
    model_id: str, covariates: Covariates, regimen: Regimen, effect_half_time_min: float | None
) -> BuiltModel:
    spec = load_model_spec(model_id)
    check_regimen(spec, regimen, covariates.weight_kg)
    arrays = CovariateArrays.repeat(covariates, 1)
    values = individual_values(spec, arrays)
    return build_model(
        spec, values, regimen, effect_half_time_min=effect_half_time_min, japanese=arrays.japanese
    )


def predict_concentration(
    model_id: str,
    covariates: Covariates,
    regimen: Regimen,
    times_min: Sequence[float] | FloatArray | None = None,
    *,
    discharge_min: float | None = None,
    effect_half_time_min: float | None = None,
) -> Prediction:
    """Typical-subject prediction for this patient (no inter-individual variability)."""
    spec = load_model_spec(model_id)
    times = default_times_min(regimen) if times_min is None else check_times(times_min)
    if effect_half_time_min is not None:
        check_effect_half_time(effect_half_time_min)
    half_time = effect_half_time_min or load_pharmacodynamics().effect_half_time_min()
    built = build_for_patient(model_id, covariates, regimen, half_time)
    modal = modal_form(built.system)

    def series(output: str, at: FloatArray) -> FloatArray:
        values: FloatArray = concentration_ng_ml(built.system, modal, built.events, output, at)[0]
        return values

    concentration = series("concentration", times)
    effect = series("effect", times)
    metabolite = series("metabolite", times) if "metabolite" in built.system.outputs else None
    metrics = compute_metrics(built, modal, times, discharge_min=discharge_min)
    notes = [*built.notes, f"Sampling site: {spec.sampling.site}. {spec.sampling.note}"]
    if not spec.variable_parameters:
        notes.append(f"The {spec.id} model has no published inter-individual variability.")
    if covariates.sex is not None:
        notes.append(
            "Sex is recorded but changes no prediction: none of these models retained a sex effect "
            "(Sigtermans 2009 reported 20% higher S-ketamine clearance in women; not implemented)."
        )
    notes.append(
        "NMDA occupancy is an index from rat-cortex affinities (Ebert 1997, unverified) applied to "
        "the total effect-site concentration; it is not a measured human occupancy. Its range "
        "spans the published affinity readings: the label's 3-4-fold S:R ratio and the Salat "
        "2015 racemic Ki (unverified); metabolites are not included."
    )
    occupancy_low, occupancy_high = nmda_occupancy_range(effect, spec.drug)
    return Prediction(
        model_id=spec.id,
        analyte=spec.analyte,
        metabolite=spec.metabolite,
        sampling_site=spec.sampling.site,
        times_min=times,
        concentration_ng_ml=concentration,
        effect_site_ng_ml=effect,
        metabolite_ng_ml=metabolite,
        nmda_occupancy=nmda_occupancy(effect, spec.drug),
        nmda_occupancy_low=occupancy_low,
        nmda_occupancy_high=occupancy_high,
        metrics=metrics,
        notes=tuple(notes),
        warnings=tuple(dose_warnings(spec, regimen) + population_warnings(spec, covariates)),
    )
