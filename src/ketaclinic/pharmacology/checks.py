"""Input checks shared by single predictions and population runs: doses, routes, populations."""

from __future__ import annotations

from ketaclinic.clinical.vocabulary import Route
from ketaclinic.errors import InvalidInput
from ketaclinic.pharmacology.parameters import Covariates
from ketaclinic.pharmacology.population import PopulationRequest
from ketaclinic.pharmacology.regimen import Regimen
from ketaclinic.pharmacology.schema import ModelSpec, load_limits, load_model_spec
from ketaclinic.pharmacology.structures import check_route


def check_regimen(spec: ModelSpec, regimen: Regimen, weight_kg: float) -> None:
    """Refuse routes the model cannot take and implausible doses (likely unit errors)."""
    limits = load_limits().plausibility
    for index, dose in enumerate(regimen.doses):
        check_route(spec, dose.route)
        per_kg = dose.amount_mg / weight_kg
        if dose.route == Route.IV and dose.duration_min > 0:
            rate = per_kg / (dose.duration_min / 60.0)
            if rate > limits.max_infusion_rate_mg_per_kg_per_h:
                raise InvalidInput(
                    f"Dose {index + 1}: an infusion of {rate:.3g} mg/kg/h is above the "
                    "plausibility "
                    f"limit of {limits.max_infusion_rate_mg_per_kg_per_h:g} mg/kg/h; check "
                    "the units (mg, not µg) and the duration. A push over a minute or two is "
                    "an IV bolus (route iv with no duration), not an infusion.",
                    field=f"dose[{index}]",
                )
        elif per_kg > limits.max_dose_mg_per_kg:
            raise InvalidInput(
                f"Dose {index + 1}: {dose.amount_mg:g} mg ({per_kg:.3g} mg/kg) is above the "
                "plausibility "
                f"limit of {limits.max_dose_mg_per_kg:g} mg/kg; check the units (mg, not µg) "
                "and the weight.",
                field=f"dose[{index}]",
            )


def dose_warnings(spec: ModelSpec, regimen: Regimen) -> list[str]:
    """Warnings for session doses outside the range the model's data covered (extrapolation)."""
    warnings: list[str] = []
    for studied in spec.studied_doses:
        for index, dose in enumerate(regimen.doses):
            if dose.route == studied.route and not (
                studied.low_mg <= dose.amount_mg <= studied.high_mg
            ):
                warnings.append(
                    f"Dose {index + 1}: {dose.amount_mg:g} mg {dose.route.value} is outside the "
                    f"{studied.low_mg:g}-{studied.high_mg:g} mg the {spec.id} model's data covered "
                    f"({studied.source.short()}); the prediction is an extrapolation."
                )
    return warnings


def check_population_request(request: PopulationRequest) -> list[str]:
    """Refuse implausible doses at the subject where they are largest; return the warnings.

    A fixed mg dose is largest per kg in the lightest subject; a per-kg dose is the same for
    everyone. The covariate ranges (or the table's extremes) are checked against the model's
    population.
    """
    spec = load_model_spec(request.model_id)
    spread = request.spread
    weights = spread.weight_bounds(request.covariates)
    if request.per_kg_doses:
        check_regimen(spec, request.regimen, request.covariates.weight_kg)
    else:
        check_regimen(spec, request.regimen, weights[0])
    return dose_warnings(spec, request.regimen) + population_warnings(
        spec,
        request.covariates,
        weight_range_kg=weights,
        age_range_years=spread.age_bounds(request.covariates),
    )


def population_warnings(
    spec: ModelSpec,
    covariates: Covariates,
    *,
    weight_range_kg: tuple[float, float] | None = None,
    age_range_years: tuple[float, float] | None = None,
) -> list[str]:
    """Warnings when the patient (or a virtual population's covariate range) lies outside the
    population the model was built from, or when that population's range was never reported."""
    warnings: list[str] = []
    population = spec.population
    weights = weight_range_kg or (covariates.weight_kg, covariates.weight_kg)
    ages = age_range_years
    if ages is None and covariates.age_years is not None:
        ages = (covariates.age_years, covariates.age_years)
    if population.weight_kg is not None:
        outside = _outside("Weight", "kg", weights, population.weight_kg, spec.id)
        if outside:
            note = f" {population.weight_note}" if population.weight_note else ""
            warnings.append(f"{outside}: {population.description}{note}")
    if population.age_years is not None and ages is not None:
        outside = _outside("Age", "y", ages, population.age_years, spec.id)
        if outside:
            warnings.append(f"{outside}: {population.description}")
    if population.weight_kg is None and population.age_years is None:
        warnings.append(
            f"The {spec.id} model's population has no reported weight or age range, so whether "
            f"{_span(weights, 'kg')} lies within it cannot be checked: {population.description}"
        )
    if spec.structure == "perez-ruixo" and ages is None:
        warnings.append("Age not given: Perez-Ruixo hepatic blood flow assumes age 60 or under.")
    return warnings


def _span(values: tuple[float, float], unit: str) -> str:
    low, high = values
    return f"{low:g} {unit}" if low == high else f"{low:g}-{high:g} {unit}"


def _outside(
    label: str,
    unit: str,
    values: tuple[float, float],
    bounds: tuple[float, float],
    model_id: str,
) -> str | None:
    low, high = bounds
    if low <= values[0] and values[1] <= high:
        return None
    verb = "is" if values[0] == values[1] else "reaches"
    return (
        f"{label} {_span(values, unit)} {verb} outside the {model_id} model's population "
        f"({low:g}-{high:g} {unit})"
    )
