"""Dosing regimens: what was (or will be) given, by which route, when.

A regimen is a tuple of ``Dose`` records with times in minutes from the start of the session.
IV infusions are given by duration (``duration_min``) or built from rate steps with
``iv_infusion_steps``; pauses are gaps between segments. Intranasal esketamine doses are
sessions of 28-mg devices; the model splits them into devices spaced as the label says.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ketaclinic.clinical.vocabulary import Route
from ketaclinic.errors import InvalidInput
from ketaclinic.pharmacology.schema import Formulation

_DOSE_PATTERN = re.compile(
    r"^\s*([0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)\s*(mg/kg|mg|µg/kg|ug/kg|mcg/kg)\s*$", re.I
)


@dataclass(frozen=True)
class Dose:
    """One administration. ``duration_min`` > 0 makes an IV dose a constant-rate infusion."""

    route: Route
    amount_mg: float
    start_min: float = 0.0
    duration_min: float = 0.0
    # A formulation id from formulations.yaml, or a custom Formulation (with its own source).
    formulation: str | Formulation | None = None
    # Intranasal esketamine only: minutes between devices in this session (default from the label).
    device_spacing_min: float | None = None

    @property
    def end_min(self) -> float:
        return self.start_min + self.duration_min

    @property
    def rate_mg_per_min(self) -> float:
        return self.amount_mg / self.duration_min if self.duration_min > 0 else math.inf


@dataclass(frozen=True)
class Regimen:
    doses: tuple[Dose, ...]

    def __post_init__(self) -> None:
        if not self.doses:
            raise InvalidInput("The regimen has no doses; add at least one dose.", field="dose")
        for index, dose in enumerate(self.doses):
            _check_dose(dose, index)

    @property
    def routes(self) -> frozenset[Route]:
        return frozenset(d.route for d in self.doses)

    @property
    def total_mg(self) -> float:
        return sum(d.amount_mg for d in self.doses)

    @property
    def last_dose_end_min(self) -> float:
        return max(d.end_min for d in self.doses)


def _check_dose(dose: Dose, index: int) -> None:
    field = f"dose[{index}]"
    numbers = (dose.amount_mg, dose.start_min, dose.duration_min)
    if not all(math.isfinite(x) for x in numbers):
        raise InvalidInput(
            f"Dose {index + 1}: amount, start and duration must be finite numbers.", field=field
        )
    if dose.amount_mg <= 0:
        raise InvalidInput(
            f"Dose {index + 1}: the amount must be more than 0 mg (got {dose.amount_mg:g} mg).",
            field=field,
        )
    if dose.start_min < 0:
        raise InvalidInput(
            f"Dose {index + 1}: the start time must be 0 min or later (got {dose.start_min:g} "
            "min).",
            field=field,
        )
    if dose.duration_min < 0:
        raise InvalidInput(f"Dose {index + 1}: the duration cannot be negative.", field=field)
    if dose.duration_min > 0 and dose.route != Route.IV:
        raise InvalidInput(
            f"Dose {index + 1}: only intravenous doses can be infused over a duration "
            f"({dose.route.value} doses are given at one time).",
            field=field,
        )


def dose_is_per_kg(text: str) -> bool:
    """Whether a dose text such as ``0.5mg/kg`` is per kilogram (``56mg`` is not)."""
    match = _DOSE_PATTERN.match(text)
    return match is not None and match.group(2).lower().endswith("/kg")


def parse_dose_mg(text: str, weight_kg: float | None) -> float:
    """Parse ``0.5mg/kg``, ``56mg`` or ``250ug/kg`` into milligrams for this patient."""
    match = _DOSE_PATTERN.match(text)
    if match is None:
        raise InvalidInput(
            f"Dose '{text}' is not understood; write it like 0.5mg/kg, 250ug/kg or 56mg.",
            field="dose",
        )
    value = float(match.group(1))
    unit = match.group(2).lower()
    if unit == "mg":
        return value
    if weight_kg is None:
        raise InvalidInput(
            f"Dose '{text}' is per kilogram; give the patient's weight.", field="weight"
        )
    per_kg_mg = value if unit == "mg/kg" else value / 1000.0
    return per_kg_mg * weight_kg


def iv_infusion_steps(
    steps: Sequence[tuple[float, float]], stop_min: float, *, min_segment_min: float = 0.0
) -> tuple[Dose, ...]:
    """IV infusion from rate changes: ``steps`` are (start_min, rate_mg_per_h); rate 0 is a pause.

    Each step runs until the next step starts (or ``stop_min``); zero-rate steps produce no dose.
    """
    if not steps:
        raise InvalidInput("An infusion needs at least one rate step.", field="infusion")
    ordered = sorted(steps)
    doses: list[Dose] = []
    for index, (start_min, rate_mg_per_h) in enumerate(ordered):
        end_min = ordered[index + 1][0] if index + 1 < len(ordered) else stop_min
        if rate_mg_per_h < 0:
            raise InvalidInput(
                f"Infusion step {index + 1}: the rate cannot be negative (got "
                f"{rate_mg_per_h:g} mg/h).",
                field="infusion",
            )
        if end_min <= start_min:
            raise InvalidInput(
                f"Infusion step {index + 1} starts at {start_min:g} min but ends at "
                f"{end_min:g} min; "
                "steps must be in increasing time and end after they start.",
                field="infusion",
            )
        duration_min = end_min - start_min
        if rate_mg_per_h > 0 and duration_min > min_segment_min:
            doses.append(
                Dose(Route.IV, rate_mg_per_h * duration_min / 60.0, start_min, duration_min)
            )
    if not doses:
        raise InvalidInput(
            "Every infusion step has rate 0; nothing would be given.", field="infusion"
        )
    return tuple(doses)
