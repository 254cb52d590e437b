"""Absorption for racemic extravascular routes: bioavailability, lag and rate per formulation.

Published racemic ketamine studies give F and Tmax but not an absorption rate constant for the
disposition models used here. The engine therefore derives ka (computed here, not published) so
that the model's typical subject at the reference weight peaks at the published Tmax after a
single dose, and says so in every prediction that uses it. A published ka, when a formulation has
one, is used as is.

Input semantics (the cases mrgsolve users reported: #1129, #267, #270, #954):
- a lag delays the whole input: a bolus into the depot moves to start + lag; a zero-order release
  (``zero_order_min``) keeps its duration and moves both its start and its end by the lag;
- bioavailability scales the amount that enters. For a zero-order release the duration is a
  property of the formulation, so F scales the rate and the duration is kept (NONMEM's modelled
  duration, RATE=-2). IV infusions have F = 1 and no lag: they run exactly as given;
- the published Tmax counts from the dose, so the derived ka targets Tmax minus the lag.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from ketaclinic.clinical.vocabulary import Route
from ketaclinic.errors import ConfigurationError, InvalidInput
from ketaclinic.pharmacology.schema import Formulation, ModelSpec, load_formulations


@dataclass(frozen=True)
class Absorption:
    formulation: Formulation
    bioavailability: float
    ka_per_min: float
    lag_min: float
    note: str


def formulation_for(
    spec: ModelSpec, route: Route, formulation: str | Formulation | None
) -> Formulation:
    if isinstance(formulation, Formulation):
        return formulation
    candidates = [
        f for f in load_formulations().formulations if f.route == route and f.drug == spec.drug
    ]
    if formulation is not None:
        for candidate in candidates:
            if candidate.id == formulation:
                return candidate
        allowed = ", ".join(f.id for f in candidates) or "none"
        raise InvalidInput(
            f"Formulation '{formulation}' is not known for {route.value} {spec.drug}; choose "
            f"one of: {allowed}.",
            field="formulation",
        )
    defaults = [f for f in candidates if f.default]
    if not defaults:
        raise InvalidInput(
            f"No {route.value} formulation data exist for {spec.drug}; the {spec.id} model "
            "cannot take this route.",
            field="route",
        )
    return defaults[0]


def resolve_absorption(
    spec: ModelSpec, route: Route, formulation: str | Formulation | None
) -> Absorption:
    chosen = formulation_for(spec, route, formulation)
    bioavailability = chosen.bioavailability
    origin = chosen.source.short()
    for override in spec.route_bioavailability:
        if override.route == route:
            bioavailability = override.value
            origin = f"{override.source.short()} (F); {chosen.source.short()} (Tmax)"
    release = (
        f", released at a constant rate over {chosen.zero_order_min:g} min"
        if chosen.zero_order_min
        else ""
    )
    if chosen.ka_per_h is not None:
        ka = chosen.ka_per_h / 60.0
        rate_origin = f"published absorption rate {chosen.ka_per_h:.3g}/h"
    else:
        ka = derived_ka_per_min(
            spec.id, chosen.tmax_min - chosen.lag_min, chosen.zero_order_min or 0.0
        )
        rate_origin = (
            f"absorption rate {ka * 60:.3g}/h derived here so the typical subject peaks at the "
            f"published Tmax {chosen.tmax_min:g} min"
        )
    note = (
        f"{route.value}: {spec.id} disposition combined with formulation '{chosen.id}' "
        f"(F {bioavailability:.2f}, lag {chosen.lag_min:g} min{release}; {origin}); "
        f"{rate_origin}."
    )
    return Absorption(chosen, bioavailability, ka, chosen.lag_min, note)


def _typical_tmax_min(
    model_id: str, ka_per_min: float, horizon_min: float, release_min: float
) -> float:
    from ketaclinic.pharmacology.parameters import CovariateArrays, Covariates, individual_values
    from ketaclinic.pharmacology.schema import load_model_spec
    from ketaclinic.pharmacology.solver import InputEvent, concentration_ng_ml, modal_form
    from ketaclinic.pharmacology.structures import _Builder, _disposition

    spec = load_model_spec(model_id)
    covariates = CovariateArrays.repeat(Covariates(weight_kg=spec.reference_weight_kg), 1)
    values = individual_values(spec, covariates)
    builder = _Builder(1)
    builder.add("central")
    volume = _disposition(builder, spec, values)
    builder.add("depot")
    builder.flow("depot", "central", np.array([ka_per_min]))
    from ketaclinic.pharmacology.solver import LinearSystem, Output

    system = LinearSystem(
        builder.matrix(), tuple(builder.names), {"concentration": Output(0, volume)}
    )
    modal = modal_form(system)
    events = [InputEvent(builder.names.index("depot"), 0.0, release_min, np.array([1.0]))]

    def concentration(t: float) -> float:
        return float(
            concentration_ng_ml(system, modal, events, "concentration", np.array([t]))[0, 0]
        )

    grid = np.linspace(0.0, horizon_min, 4001)
    values_grid = concentration_ng_ml(system, modal, events, "concentration", grid)[0]
    peak = int(np.argmax(values_grid))
    low, high = grid[max(peak - 1, 0)], grid[min(peak + 1, grid.size - 1)]
    refined = minimize_scalar(
        lambda t: -concentration(t), bounds=(low, high), method="bounded", options={"xatol": 1e-7}
    )
    return float(refined.x)


@cache
def derived_ka_per_min(model_id: str, tmax_min: float, release_min: float = 0.0) -> float:
    """First-order ka giving the typical subject a single-dose peak ``tmax_min`` after the input
    starts (``release_min`` > 0: the dose enters the depot at a constant rate over that time).

    Computed here, not published."""
    horizon = 20.0 * tmax_min

    def mismatch(log_ka: float) -> float:
        return _typical_tmax_min(model_id, math.exp(log_ka), horizon, release_min) - tmax_min

    low, high = math.log(1e-4), math.log(50.0)
    if tmax_min <= release_min or mismatch(low) < 0 or mismatch(high) > 0:
        raise ConfigurationError(
            f"No absorption rate gives a peak at {tmax_min:g} min after the input starts with "
            f"the {model_id} model (release over {release_min:g} min)."
        )
    return math.exp(brentq(mismatch, low, high, xtol=1e-10))
