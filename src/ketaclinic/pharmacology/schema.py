"""Typed shape of the pharmacology data files (models, formulations, pharmacodynamics).

Every number the engine uses is read through these models from ``pharmacology/data``; nothing
clinical is hard-coded in the solver.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ketaclinic.clinical.knowledge import Source, load_knowledge
from ketaclinic.clinical.vocabulary import Route

Drug = Literal["racemic-ketamine", "esketamine"]
Unit = Literal["L", "L/kg", "L/h", "L/min", "1/h", "1/min", "h", "min", "fraction", "L/h/year"]
PACKAGE = "ketaclinic.pharmacology"
MODEL_IDS: tuple[str, ...] = (
    "domino",
    "clements",
    "hijazi",
    "herd",
    "hornik",
    "flint",
    "kamp",
    "perez-ruixo",
)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Parameter(_Frozen):
    id: str
    value: float
    unit: Unit
    scaling: Literal["none", "per-kg", "allometric"] = "none"
    exponent: float | None = None
    # Size of the inter-individual variability; its meaning depends on iiv_scale.
    iiv: float | None = Field(default=None, gt=0)
    iiv_scale: Literal["cv", "sd-log", "sd-logit"] = "cv"
    source: Source
    note: str | None = None

    @property
    def omega(self) -> float:
        """SD of the eta on its own (log or logit) scale."""
        import math

        if self.iiv is None:
            return 0.0
        if self.iiv_scale == "cv":
            return math.sqrt(math.log1p(self.iiv**2))
        return self.iiv


class Correlation(_Frozen):
    first: str
    second: str
    r: float = Field(ge=-1, le=1)
    source: Source


class Residual(_Frozen):
    output: Literal["concentration", "metabolite"]
    kind: Literal["proportional", "log-additive"]
    sd: float = Field(gt=0)
    source: Source


class Population(_Frozen):
    description: str
    age_years: tuple[float, float] | None = None
    weight_kg: tuple[float, float] | None = None
    # Why the weight range is what it is when it is not the study's own (e.g. an adult proxy).
    weight_note: str | None = None
    source: Source


class Sampling(_Frozen):
    site: Literal["venous", "arterial", "mixed", "unknown"]
    note: str
    source: Source


class Resolution(_Frozen):
    issue: str
    resolution: str
    source: Source


class RouteBioavailability(_Frozen):
    route: Route
    value: float = Field(gt=0, le=1)
    source: Source


class Device(_Frozen):
    amount_mg: float = Field(gt=0)
    spacing_min: float = Field(ge=0)
    source: Source


class StudiedDose(_Frozen):
    """The range of single-session doses by one route that the model's data covered."""

    route: Route
    low_mg: float = Field(gt=0)
    high_mg: float = Field(gt=0)
    source: Source


class ModelSpec(_Frozen):
    id: str
    name: str
    drug: Drug
    analyte: str
    metabolite: str | None = None
    structure: Literal["micro", "macro", "perez-ruixo"]
    source: Source
    population: Population
    sampling: Sampling
    parameters: tuple[Parameter, ...]
    correlations: tuple[Correlation, ...] = ()
    residuals: tuple[Residual, ...] = ()
    routes: tuple[Route, ...]
    route_bioavailability: tuple[RouteBioavailability, ...] = ()
    device: Device | None = None
    studied_doses: tuple[StudiedDose, ...] = ()
    iiv_note: str | None = None
    resolutions: tuple[Resolution, ...] = ()
    reference_weight_kg: float = 70.0

    def parameter(self, parameter_id: str) -> Parameter:
        for parameter in self.parameters:
            if parameter.id == parameter_id:
                return parameter
        raise KeyError(parameter_id)

    def has(self, parameter_id: str) -> bool:
        return any(p.id == parameter_id for p in self.parameters)

    @property
    def variable_parameters(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.iiv is not None)


class Formulation(_Frozen):
    id: str
    route: Route
    drug: Drug
    default: bool = False
    bioavailability: float = Field(gt=0, le=1)
    tmax_min: float = Field(gt=0)
    lag_min: float = Field(ge=0)
    # A published first-order absorption rate constant; when absent (every racemic formulation
    # today) the engine derives one from tmax_min for the chosen model and says so.
    ka_per_h: float | None = Field(default=None, gt=0)
    # Zero-order release into the depot over this many minutes (after the lag), then first-order
    # absorption; F scales the release rate, the duration is kept. None: the dose enters at once.
    zero_order_min: float | None = Field(default=None, gt=0)
    source: Source


class Formulations(_Frozen):
    formulations: tuple[Formulation, ...]


class MolarMasses(_Frozen):
    ketamine: float
    norketamine: float
    source: Source


class EffectSiteOption(_Frozen):
    id: str
    half_time_min: float = Field(gt=0)
    source: Source


class EffectSite(_Frozen):
    default: str
    options: tuple[EffectSiteOption, ...]


class Affinity(_Frozen):
    id: str
    ki_um: float = Field(gt=0)
    source: Source


class AffinityRatio(_Frozen):
    low: float = Field(gt=0)
    high: float = Field(gt=0)
    source: Source


class Band(_Frozen):
    id: str
    label: str
    low_ng_ml: float = Field(gt=0)
    high_ng_ml: float = Field(gt=0)
    source: Source


class ReferenceLevel(_Frozen):
    id: str
    label: str
    ng_ml: float = Field(gt=0)
    source: Source


class Pharmacodynamics(_Frozen):
    molar_mass_g_per_mol: MolarMasses
    effect_site: EffectSite
    nmda_affinity: tuple[Affinity, ...]
    s_to_r_affinity_ratio: AffinityRatio
    bands: tuple[Band, ...]
    reference_levels: tuple[ReferenceLevel, ...]

    def affinity(self, affinity_id: str) -> Affinity:
        return next(a for a in self.nmda_affinity if a.id == affinity_id)

    def effect_half_time_min(self, option_id: str | None = None) -> float:
        wanted = option_id or self.effect_site.default
        return next(o.half_time_min for o in self.effect_site.options if o.id == wanted)


def load_model_spec(model_id: str) -> ModelSpec:
    """The model's data file, validated; raises NotFound for an unknown id."""
    from ketaclinic.errors import NotFound

    if model_id not in MODEL_IDS:
        raise NotFound(
            f"Unknown PK model '{model_id}'. Choose one of: {', '.join(MODEL_IDS)}.",
            field="model",
        )
    return load_knowledge(PACKAGE, f"models/{model_id}.yaml", ModelSpec)


def load_formulations() -> Formulations:
    return load_knowledge(PACKAGE, "formulations.yaml", Formulations)


def load_pharmacodynamics() -> Pharmacodynamics:
    return load_knowledge(PACKAGE, "pharmacodynamics.yaml", Pharmacodynamics)


class Plausibility(_Frozen):
    max_dose_mg_per_kg: float = Field(gt=0)
    max_infusion_rate_mg_per_kg_per_h: float = Field(gt=0)
    source: Source


class Limits(_Frozen):
    plausibility: Plausibility


def load_limits() -> Limits:
    return load_knowledge(PACKAGE, "limits.yaml", Limits)
