"""Dosing policy data: plausibility bounds, body-weight formulas, measuring increments."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from pydantic import BaseModel, Field

from ketaclinic.clinical.knowledge import Source, load_knowledge
from ketaclinic.clinical.vocabulary import Sex


class _Range(BaseModel):
    minimum: float
    maximum: float


class Plausibility(BaseModel):
    id: str
    adult_weight_kg: _Range
    height_cm: _Range
    bmi_kg_m2: _Range
    source: Source


class BodyWeightFormulas(BaseModel):
    id: str
    ibw_base_kg: dict[Sex, float]
    ibw_kg_per_inch_over_60: float
    adjusted_weight_factor: float
    high_bmi_kg_m2: float
    practice_label: str
    source: Source


class Measuring(BaseModel):
    id: str
    volume_increment_ml: float = Field(gt=0)
    rate_increment_ml_per_h: float = Field(gt=0)
    rounding_warning_fraction: float = Field(gt=0)
    source: Source


class DosingPolicy(BaseModel):
    plausibility: Plausibility
    body_weight: BodyWeightFormulas
    measuring: Measuring


@cache
def dosing_policy() -> DosingPolicy:
    return load_knowledge("ketaclinic.clinical", "dosing.yaml", DosingPolicy)


def round_to(value: float, increment: float) -> float:
    """Round half-up to a multiple of ``increment`` (what a syringe or pump can be set to)."""
    steps = (Decimal(repr(value)) / Decimal(repr(increment))).quantize(Decimal(1), ROUND_HALF_UP)
    return float(steps * Decimal(repr(increment)))
