"""Pharmacology engine: published ketamine and esketamine PK/PD models, exact and fast.

Public API (everything else in this package is internal)::

    predict_concentration(model_id, covariates, regimen, times_min=None, *, discharge_min=None,
                          effect_half_time_min=None) -> Prediction
        Typical-subject prediction for one patient: plasma, effect-site and metabolite
        concentrations (ng/mL), NMDA occupancy index, and metrics (Cmax, Tmax, AUC(0-t),
        AUC(0-inf), minutes below/within/above each band, level at discharge), notes, warnings.
    simulate_population(PopulationRequest(...), *, percentiles=(5, 50, 95), workers=None,
                        progress=False) -> PopulationResult
        Virtual population with published inter-individual variability, covariates and optional
        residual error; chunked, deterministic for a seed, multi-process by default.
    run_population_spark(request, spark, *, percentiles=(5, 50, 95)) -> PopulationResult
        (in ``ketaclinic.pharmacology.distributed``) the same run on Apache Spark.
    plot_concentration(prediction=None, population=None, *, image_format="png") -> bytes | str
        PNG bytes or SVG text with the bands shaded and the percentile ribbon.
    write_population(result, path) -> Path       CSV or Parquet table of a population summary.
    list_models() -> list[ModelSummary]
        The models with population, structure, routes and source.

Inputs: ``Covariates(weight_kg, age_years=None, sex=None, asian=False, japanese=False)`` and a
``Regimen`` of ``Dose(route, amount_mg, start_min=0, duration_min=0, formulation=None)``;
``parse_dose_mg("0.5mg/kg", weight_kg)`` and ``iv_infusion_steps([(start_min, mg_per_h), ...],
stop_min)`` build them. Times are minutes from the start of the session. Bad input raises
``ketaclinic.errors.InvalidInput``; an unknown model raises ``NotFound``.
"""

from __future__ import annotations

from ketaclinic.pharmacology.catalogue import ModelSummary, list_models
from ketaclinic.pharmacology.export import write_population
from ketaclinic.pharmacology.parameters import Covariates
from ketaclinic.pharmacology.plots import plot_concentration
from ketaclinic.pharmacology.population import PopulationRequest
from ketaclinic.pharmacology.predict import Prediction, default_times_min, predict_concentration
from ketaclinic.pharmacology.regimen import Dose, Regimen, iv_infusion_steps, parse_dose_mg
from ketaclinic.pharmacology.schema import MODEL_IDS
from ketaclinic.pharmacology.trial import PopulationResult, simulate_population

__all__ = [
    "MODEL_IDS",
    "Covariates",
    "Dose",
    "ModelSummary",
    "PopulationRequest",
    "PopulationResult",
    "Prediction",
    "Regimen",
    "default_times_min",
    "iv_infusion_steps",
    "list_models",
    "parse_dose_mg",
    "plot_concentration",
    "predict_concentration",
    "simulate_population",
    "write_population",
]
