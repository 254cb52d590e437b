"""Covariates of a virtual population: the patient's, drawn from ranges and fractions, or a table.

Every subject starts from the request's patient. Then, for whatever the request varies:
- weight and age: uniform over a range;
- sex, Asian ancestry and Japanese ancestry: each subject independently with a given probability
  (Japanese subjects are Asian too, as in Perez-Ruixo, so japanese <= asian);
- or a covariate table (real or planned cohort): subjects drawn from its rows with replacement.
Draws come from the chunk's generator in a fixed order (weight first, as before these options
existed), so results stay deterministic per seed and identical locally and on Spark.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ketaclinic.clinical.vocabulary import Sex
from ketaclinic.errors import InvalidInput
from ketaclinic.pharmacology.parameters import CovariateArrays, Covariates


@dataclass(frozen=True)
class CovariateSpread:
    """How covariates vary across a virtual population (all None: everyone is the patient)."""

    weight_range_kg: tuple[float, float] | None = None
    age_range_years: tuple[float, float] | None = None
    female_fraction: float | None = None
    asian_fraction: float | None = None
    japanese_fraction: float | None = None
    table: tuple[Covariates, ...] | None = None

    def check(self) -> None:
        if self.weight_range_kg is not None:
            low, high = self.weight_range_kg
            if not 0.3 <= low <= high <= 350:
                raise InvalidInput(
                    "Weight range must be within 0.3-350 kg with low <= high.", field="weight"
                )
        if self.age_range_years is not None:
            low, high = self.age_range_years
            if not 0 <= low <= high <= 120:
                raise InvalidInput(
                    "Age range must be within 0-120 years with low <= high.", field="age"
                )
        for name in ("female_fraction", "asian_fraction", "japanese_fraction"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and 0.0 <= value <= 1.0):
                raise InvalidInput(
                    f"{name.replace('_', ' ').capitalize()} must be between 0 and 1 "
                    f"(got {value:g}).",
                    field=name,
                )
        if (self.japanese_fraction or 0.0) > (
            self.asian_fraction if self.asian_fraction is not None else 1.0
        ):
            raise InvalidInput(
                "Japanese subjects are counted as Asian too, so the Japanese fraction cannot "
                "exceed the Asian fraction.",
                field="japanese_fraction",
            )
        if self.table is not None:
            if not self.table:
                raise InvalidInput("The covariate table has no rows.", field="covariates")
            varied = (
                self.weight_range_kg,
                self.age_range_years,
                self.female_fraction,
                self.asian_fraction,
                self.japanese_fraction,
            )
            if any(v is not None for v in varied):
                raise InvalidInput(
                    "Give either a covariate table or ranges and fractions, not both.",
                    field="covariates",
                )

    def weight_bounds(self, patient: Covariates) -> tuple[float, float]:
        if self.table is not None:
            weights = [row.weight_kg for row in self.table]
            return min(weights), max(weights)
        return self.weight_range_kg or (patient.weight_kg, patient.weight_kg)

    def age_bounds(self, patient: Covariates) -> tuple[float, float] | None:
        if self.table is not None:
            ages = [row.age_years for row in self.table if row.age_years is not None]
            return (min(ages), max(ages)) if ages else None
        if self.age_range_years is not None:
            return self.age_range_years
        age = patient.age_years
        return None if age is None else (age, age)

    def sample(self, patient: Covariates, rng: np.random.Generator, m: int) -> CovariateArrays:
        if self.table is not None:
            return _from_table(self.table, rng.integers(0, len(self.table), m), patient)
        arrays = CovariateArrays.repeat(patient, m)
        weight = arrays.weight_kg
        if self.weight_range_kg is not None:
            weight = rng.uniform(*self.weight_range_kg, m)
        age, age_known = arrays.age_years, arrays.age_known
        if self.age_range_years is not None:
            age, age_known = rng.uniform(*self.age_range_years, m), np.ones(m, dtype=bool)
        female = arrays.female
        if self.female_fraction is not None:
            female = rng.random(m) < self.female_fraction
        asian, japanese = arrays.asian, arrays.japanese
        if self.asian_fraction is not None or self.japanese_fraction is not None:
            # One uniform per subject: below the Japanese fraction is Japanese (and so Asian),
            # below the Asian fraction is Asian (which defaults to the Japanese fraction).
            japanese_cut = self.japanese_fraction or 0.0
            asian_cut = self.asian_fraction if self.asian_fraction is not None else japanese_cut
            u = rng.random(m)
            japanese, asian = u < japanese_cut, u < asian_cut
        return CovariateArrays(
            weight, age, asian, japanese, arrays.hours_since_first_dose, age_known, female
        )


def _from_table(
    rows: Sequence[Covariates], picks: np.ndarray, patient: Covariates
) -> CovariateArrays:
    chosen = [rows[int(i)] for i in picks]
    return CovariateArrays(
        weight_kg=np.array([r.weight_kg for r in chosen], dtype=np.float64),
        age_years=np.array([r.age_years or 0.0 for r in chosen], dtype=np.float64),
        asian=np.array([r.asian or r.japanese for r in chosen], dtype=bool),
        japanese=np.array([r.japanese for r in chosen], dtype=bool),
        hours_since_first_dose=np.full(len(chosen), patient.hours_since_first_dose),
        age_known=np.array([r.age_years is not None for r in chosen], dtype=bool),
        female=np.array([r.sex == Sex.FEMALE for r in chosen], dtype=bool),
    )
