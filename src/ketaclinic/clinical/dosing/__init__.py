"""One home for a ketamine or esketamine dose: weight, mg, volume, bag, rate, devices, limits."""

from __future__ import annotations

from ketaclinic.clinical.dosing.body_weight import (
    WeightPolicy,
    adjusted_body_weight_kg,
    body_mass_index,
    choose_dosing_weight,
    ideal_body_weight_kg,
    validate_body,
)
from ketaclinic.clinical.dosing.calculation import DoseCalculation, LimitCheck, calculate_dose
from ketaclinic.clinical.dosing.policy import DosingPolicy, dosing_policy, round_to

__all__ = [
    "DoseCalculation",
    "DosingPolicy",
    "LimitCheck",
    "WeightPolicy",
    "adjusted_body_weight_kg",
    "body_mass_index",
    "calculate_dose",
    "choose_dosing_weight",
    "dosing_policy",
    "ideal_body_weight_kg",
    "round_to",
    "validate_body",
]
