"""Input checks shared by single predictions and population runs: doses, routes, populations."""

from __future__ import annotations

from ketaclinic.clinical.vocabulary import Route
from ketaclinic.errors import InvalidInput
from ketaclinic.pharmacology.parameters import Covariates
from ketaclinic.pharmacology.regimen import Regimen
from ketaclinic.pharmacology.schema import ModelSpec, load_limits
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
                    "the units "
                    "(mg, not µg) and the duration.",
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


def population_warnings(spec: ModelSpec, covariates: Covariates) -> list[str]:
    """Warnings when the patient lies outside the population the model was built from."""
    warnings: list[str] = []
    population = spec.population
    if population.weight_kg is not None:
        low, high = population.weight_kg
        if not low <= covariates.weight_kg <= high:
            warnings.append(
                f"Weight {covariates.weight_kg:g} kg is outside the {spec.id} model's population "
                f"({low:g}-{high:g} kg): {population.description}"
            )
    if population.age_years is not None and covariates.age_years is not None:
        low, high = population.age_years
        if not low <= covariates.age_years <= high:
            warnings.append(
                f"Age {covariates.age_years:g} y is outside the {spec.id} model's population "
                f"({low:g}-{high:g} y): {population.description}"
            )
    if spec.structure == "perez-ruixo" and covariates.age_years is None:
        warnings.append("Age not given: Perez-Ruixo hepatic blood flow assumes age 60 or under.")
    return warnings
