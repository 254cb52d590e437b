"""Which weight to dose on: closest measurement, plausibility, ideal and adjusted body weight."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ketaclinic.clinical.dosing.policy import dosing_policy
from ketaclinic.clinical.vocabulary import Sex, WeightPolicy
from ketaclinic.errors import InvalidInput

CM_PER_INCH = 2.54

# WeightPolicy lives in the vocabulary (protocol data names it too); re-exported here.
__all__ = [
    "WeightPolicy",
    "adjusted_body_weight_kg",
    "body_mass_index",
    "choose_dosing_weight",
    "ideal_body_weight_kg",
    "validate_body",
    "weight_for_policy",
]


def choose_dosing_weight(
    weights: Sequence[tuple[datetime, float]], session_at: datetime
) -> tuple[float, datetime]:
    """The weight measured closest in time to the session; on a tie, the earlier measurement."""
    if not weights:
        raise InvalidInput(
            "No weight is recorded: weigh the patient before dosing.", field="weight"
        )
    measured_at, kg = min(weights, key=lambda w: (abs((w[0] - session_at).total_seconds()), w[0]))
    return kg, measured_at


def body_mass_index(weight_kg: float, height_cm: float) -> float:
    height_m = height_cm / 100
    return weight_kg / (height_m * height_m)


def ideal_body_weight_kg(height_cm: float, sex: Sex) -> float:
    """Devine ideal body weight; below 5 feet the formula is extrapolated downward."""
    formulas = dosing_policy().body_weight
    inches_over_60 = height_cm / CM_PER_INCH - 60
    return formulas.ibw_base_kg[sex] + formulas.ibw_kg_per_inch_over_60 * inches_over_60


def adjusted_body_weight_kg(actual_kg: float, ideal_kg: float) -> float:
    factor = dosing_policy().body_weight.adjusted_weight_factor
    return ideal_kg + factor * (actual_kg - ideal_kg)


def validate_body(weight_kg: float, height_cm: float | None) -> float | None:
    """Refuse implausible adult weight, height or BMI; return the BMI when height is known."""
    bounds = dosing_policy().plausibility
    w, h, b = bounds.adult_weight_kg, bounds.height_cm, bounds.bmi_kg_m2
    if not w.minimum <= weight_kg <= w.maximum:
        raise InvalidInput(
            f"Weight {weight_kg:g} kg is outside the plausible adult range "
            f"{w.minimum:g}-{w.maximum:g} kg. Check the unit (kg, not lb) and re-weigh.",
            field="weight_kg",
        )
    if height_cm is None:
        return None
    if not h.minimum <= height_cm <= h.maximum:
        raise InvalidInput(
            f"Height {height_cm:g} cm is outside the plausible adult range "
            f"{h.minimum:g}-{h.maximum:g} cm. Check the unit (cm, not m or inches).",
            field="height_cm",
        )
    bmi = body_mass_index(weight_kg, height_cm)
    if not b.minimum <= bmi <= b.maximum:
        raise InvalidInput(
            f"Weight {weight_kg:g} kg with height {height_cm:g} cm gives a BMI of {bmi:.1f}, "
            f"outside {b.minimum:g}-{b.maximum:g}: one of the two is wrong.",
            field="height_cm",
        )
    return bmi


def weight_for_policy(
    policy: WeightPolicy, weight_kg: float, height_cm: float | None, sex: Sex | None
) -> tuple[float, float | None, float | None]:
    if policy is WeightPolicy.ACTUAL and (height_cm is None or sex is None):
        return weight_kg, None, None
    if height_cm is None or sex is None:
        raise InvalidInput(
            f"The '{policy}' body-weight policy needs height (cm) and sex (F or M).",
            field="height_cm" if height_cm is None else "sex",
        )
    ideal = ideal_body_weight_kg(height_cm, sex)
    adjusted = adjusted_body_weight_kg(weight_kg, ideal)
    # Never dose above actual weight: a lean patient is dosed on what they weigh.
    chosen = {WeightPolicy.ACTUAL: weight_kg, WeightPolicy.IDEAL: min(ideal, weight_kg)}.get(
        policy, min(adjusted, weight_kg)
    )
    return chosen, ideal, adjusted
