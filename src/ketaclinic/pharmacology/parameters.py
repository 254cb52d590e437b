"""Covariates and individual parameters, vectorised over subjects, in the solver's units.

Internal units: minutes, litres, milligrams (so clearances are L/min and rate constants 1/min).
Individual value = typical value (after weight scaling and covariate effects) combined with the
subject's eta: multiplicative exp(eta) for log-normal parameters, additive on the logit scale
for fractions (FRn in Perez-Ruixo).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ketaclinic.clinical.vocabulary import Sex
from ketaclinic.errors import InvalidInput
from ketaclinic.pharmacology.schema import ModelSpec

FloatArray = NDArray[np.float64]

# Factor from the data file's unit to the solver's unit (min, L, mg).
UNIT_TO_INTERNAL: dict[str, float] = {
    "L": 1.0,
    "L/kg": 1.0,
    "L/min": 1.0,
    "L/h": 1.0 / 60.0,
    "1/min": 1.0,
    "1/h": 1.0 / 60.0,
    "min": 1.0,
    "h": 60.0,
    "fraction": 1.0,
    "L/h/year": 1.0 / 60.0,
}


@dataclass(frozen=True)
class Covariates:
    """One patient.

    ``japanese`` implies ``asian`` (Perez-Ruixo: Japanese subjects are Asian too).
    """

    weight_kg: float
    age_years: float | None = None
    sex: Sex | None = None
    asian: bool = False
    japanese: bool = False
    # Flint 2017: S-norketamine clearance drifts with time since the first S-ketamine dose.
    hours_since_first_dose: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.weight_kg) and 0.3 <= self.weight_kg <= 350):
            raise InvalidInput(
                f"Weight {self.weight_kg:g} kg is not a plausible body weight; give the "
                "weight in kilograms "
                "(0.3 to 350 kg).",
                field="weight",
            )
        if self.age_years is not None and not (0 <= self.age_years <= 120):
            raise InvalidInput(
                f"Age {self.age_years:g} years is not plausible; give the age in years (0 to 120).",
                field="age",
            )
        if self.hours_since_first_dose < 0:
            raise InvalidInput(
                "Hours since the first dose cannot be negative.", field="hours_since_first_dose"
            )


@dataclass(frozen=True)
class CovariateArrays:
    """Covariates for many subjects at once (all arrays of length n)."""

    weight_kg: FloatArray
    age_years: FloatArray
    asian: NDArray[np.bool_]
    japanese: NDArray[np.bool_]
    hours_since_first_dose: FloatArray
    age_known: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    # Recorded for virtual populations; no model here has a sex effect (Sigtermans 2009 reported
    # 20% higher S-ketamine clearance in women, not part of these models).
    female: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))

    @property
    def n(self) -> int:
        return int(self.weight_kg.shape[0])

    @staticmethod
    def repeat(covariates: Covariates, n: int) -> CovariateArrays:
        age = covariates.age_years
        return CovariateArrays(
            weight_kg=np.full(n, covariates.weight_kg),
            age_years=np.full(n, 0.0 if age is None else age),
            asian=np.full(n, covariates.asian or covariates.japanese),
            japanese=np.full(n, covariates.japanese),
            hours_since_first_dose=np.full(n, covariates.hours_since_first_dose),
            age_known=np.full(n, age is not None),
            female=np.full(n, covariates.sex == Sex.FEMALE),
        )


def logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def typical_values(spec: ModelSpec, covariates: CovariateArrays) -> dict[str, FloatArray]:
    """Each parameter for each subject before inter-individual variability, in internal units."""
    values: dict[str, FloatArray] = {}
    weight = covariates.weight_kg
    for parameter in spec.parameters:
        base = parameter.value * UNIT_TO_INTERNAL[parameter.unit]
        if parameter.scaling == "per-kg":
            values[parameter.id] = base * weight
        elif parameter.scaling == "allometric":
            exponent = 1.0 if parameter.exponent is None else parameter.exponent
            values[parameter.id] = base * (weight / spec.reference_weight_kg) ** exponent
        else:
            values[parameter.id] = np.full(covariates.n, base)
    if spec.has("cl_met_time_slope"):
        values["hours_since_first_dose"] = covariates.hours_since_first_dose.astype(np.float64)
    if spec.structure == "perez-ruixo":
        # Abstract: Asian kel x0.36 and CLn/F x0.81; Qh falls 2.19 L/h per year of age above 60.
        values["kel"] = values["kel"] * np.where(covariates.asian, values["kel_asian_factor"], 1.0)
        values["cln"] = values["cln"] * np.where(covariates.asian, values["cln_asian_factor"], 1.0)
        years_over_60 = np.maximum(covariates.age_years - 60.0, 0.0)
        values["qh"] = values["qh"] - values["qh_age_slope"] * years_over_60
    return values


def individual_values(
    spec: ModelSpec, covariates: CovariateArrays, etas: dict[str, FloatArray] | None = None
) -> dict[str, FloatArray]:
    """Typical values combined with each subject's etas (None or missing entries: eta 0)."""
    values = typical_values(spec, covariates)
    if not etas:
        return values
    for parameter in spec.variable_parameters:
        eta = etas.get(parameter.id)
        if eta is None:
            continue
        if parameter.iiv_scale == "sd-logit":
            typical = values[parameter.id]
            values[parameter.id] = 1.0 / (1.0 + np.exp(-(np.log(typical / (1.0 - typical)) + eta)))
        else:
            values[parameter.id] = values[parameter.id] * np.exp(eta)
    return values
