"""One home for a ketamine or esketamine dose: weight, mg, volume, bag, rate, devices, limits.

A dose is computed from the protocol (data), the patient's weight under the clinic's body-weight
policy, and what the pharmacy stocks. Limits refuse the dose with ``OverrideRequired`` unless a
prescriber's ``Override`` names the limit; the result then carries the override. Nothing here
reads a clock: session dates are passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from functools import cache

from pydantic import BaseModel, ConfigDict, Field

from ketaclinic.clinical.knowledge import Source, load_knowledge
from ketaclinic.clinical.overrides import Override, split_overridden
from ketaclinic.clinical.protocols import DoseBasis, Protocol, get_protocol
from ketaclinic.clinical.vocabulary import Route, Sex
from ketaclinic.errors import InvalidInput, OverrideRequired

CM_PER_INCH = 2.54


class WeightPolicy(StrEnum):
    ACTUAL = "actual"
    IDEAL = "ideal"
    ADJUSTED = "adjusted"


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


class LimitCheck(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    description: str
    limit: float
    value: float
    within: bool
    override: Override | None = None


class DoseCalculation(BaseModel):
    model_config = ConfigDict(frozen=True)

    protocol_id: str
    weight_policy: WeightPolicy
    actual_weight_kg: float
    dosing_weight_kg: float
    bmi_kg_m2: float | None
    ideal_body_weight_kg: float | None
    adjusted_body_weight_kg: float | None
    dose_mg: float
    dose_mg_per_kg: float
    concentration_mg_per_ml: float | None = None
    volume_ml: float | None = None
    volume_increment_ml: float | None = None
    delivered_dose_mg: float | None = None
    bag_ml: float | None = None
    total_infusion_ml: float | None = None
    duration_min: float | None = None
    rate_ml_per_h: float | None = None
    devices: int | None = None
    device_mg: float | None = None
    device_offsets_min: tuple[float, ...] = ()
    device_times: tuple[datetime, ...] = ()
    limit_checks: tuple[LimitCheck, ...] = ()
    warnings: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


def round_to(value: float, increment: float) -> float:
    """Round half-up to a multiple of ``increment`` (what a syringe or pump can be set to)."""
    steps = (Decimal(repr(value)) / Decimal(repr(increment))).quantize(Decimal(1), ROUND_HALF_UP)
    return float(steps * Decimal(repr(increment)))


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


def _dosing_weight(
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


def _check_limits(
    protocol: Protocol,
    dose_mg: float,
    dose_mg_per_kg: float,
    interval_days: int | None,
    overrides: Sequence[Override],
) -> tuple[LimitCheck, ...]:
    limits = protocol.limits
    raw: list[tuple[str, str, float, float]] = []
    if limits.max_mg_per_kg is not None:
        raw.append(
            ("max-mg-per-kg", "Maximum mg/kg per session", limits.max_mg_per_kg, dose_mg_per_kg)
        )
    if limits.max_mg_per_session is not None:
        raw.append(
            ("max-mg-per-session", "Maximum mg per session", limits.max_mg_per_session, dose_mg)
        )
    checks = [
        (limit_id, text, limit, value, value <= limit + 1e-9)
        for limit_id, text, limit, value in raw
    ]
    if interval_days is not None:
        minimum = limits.min_interval_days
        checks.append(
            (
                "min-interval-days",
                "Minimum days between sessions",
                minimum,
                interval_days,
                interval_days >= minimum,
            )
        )
    breached = [c[0] for c in checks if not c[4]]
    covered, refused = split_overridden(breached, overrides)
    if refused:
        details = "; ".join(
            f"{text} is {limit:g}, this is {value:g}"
            for limit_id, text, limit, value, _ in checks
            if limit_id in refused
        )
        raise OverrideRequired(
            f"{protocol.name}: {details}. A prescriber must override with a written reason "
            f"(limit ids: {', '.join(refused)}).",
            rule_ids=refused,
        )
    return tuple(
        LimitCheck(
            id=limit_id,
            description=text,
            limit=limit,
            value=value,
            within=within,
            override=covered.get(limit_id),
        )
        for limit_id, text, limit, value, within in checks
    )


def _requested_dose(
    protocol: Protocol,
    dosing_weight_kg: float,
    dose_mg_per_kg: float | None,
    dose_mg: float | None,
    first_session: bool,
) -> tuple[float, list[str]]:
    spec = protocol.dose
    warnings: list[str] = []
    if spec.basis is DoseBasis.MG_PER_KG:
        if dose_mg is not None:
            raise InvalidInput(
                f"{protocol.id} is dosed in mg/kg: give dose_mg_per_kg, not dose_mg.",
                field="dose_mg",
            )
        per_kg = dose_mg_per_kg if dose_mg_per_kg is not None else spec.default
        if per_kg is None:
            raise InvalidInput(
                f"{protocol.name} has no default dose (experimental route): the prescriber must "
                f"state dose_mg_per_kg within {spec.minimum:g}-{spec.maximum:g} mg/kg.",
                field="dose_mg_per_kg",
            )
        if per_kg <= 0:
            raise InvalidInput("dose_mg_per_kg must be above zero.", field="dose_mg_per_kg")
        if per_kg < spec.minimum:
            warnings.append(
                f"{per_kg:g} mg/kg is below the protocol's lowest studied {spec.minimum:g} mg/kg."
            )
        return per_kg * dosing_weight_kg, warnings
    if dose_mg_per_kg is not None:
        raise InvalidInput(
            f"{protocol.id} is a fixed dose: give dose_mg, not dose_mg_per_kg.",
            field="dose_mg_per_kg",
        )
    default = spec.first_session if first_session and spec.first_session else spec.default
    mg = dose_mg if dose_mg is not None else default
    if mg is None or mg <= 0:
        raise InvalidInput(f"{protocol.id}: dose_mg must be above zero.", field="dose_mg")
    if spec.allowed and mg not in spec.allowed and mg < spec.minimum:
        warnings.append(
            f"{mg:g} mg is not a dose of this label regimen (allowed: "
            f"{', '.join(f'{a:g}' for a in spec.allowed)} mg); check a regional profile applies."
        )
    return mg, warnings


def calculate_dose(
    protocol: Protocol | str,
    weight_kg: float,
    *,
    height_cm: float | None = None,
    sex: Sex | None = None,
    concentration_mg_per_ml: float | None = None,
    bag_ml: float | None = None,
    duration_min: float | None = None,
    dose_mg_per_kg: float | None = None,
    dose_mg: float | None = None,
    policy: WeightPolicy = WeightPolicy.ACTUAL,
    first_session: bool = False,
    last_session_on: date | None = None,
    session_on: date | None = None,
    first_device_at: datetime | None = None,
    overrides: Sequence[Override] = (),
) -> DoseCalculation:
    """Compute a session's dose and how to give it; raise ``OverrideRequired`` above a limit."""
    if isinstance(protocol, str):
        protocol = get_protocol(protocol)
    bmi = validate_body(weight_kg, height_cm)
    dosing_weight, ideal, adjusted = _dosing_weight(policy, weight_kg, height_cm, sex)
    mg, warnings = _requested_dose(protocol, dosing_weight, dose_mg_per_kg, dose_mg, first_session)
    formulas = dosing_policy().body_weight
    if bmi is not None and bmi > formulas.high_bmi_kg_m2 and policy is WeightPolicy.ACTUAL:
        warnings.append(
            f"BMI {bmi:.1f} is above {formulas.high_bmi_kg_m2:g}: some clinics dose on adjusted "
            "body weight (practice, not guideline)."
        )
    interval_days = None
    if last_session_on is not None and session_on is not None:
        interval_days = (session_on - last_session_on).days
    per_kg_actual = mg / weight_kg
    checks = _check_limits(protocol, mg, mg / dosing_weight, interval_days, overrides)
    result: dict[str, object] = {
        "protocol_id": protocol.id,
        "weight_policy": policy,
        "actual_weight_kg": weight_kg,
        "dosing_weight_kg": round(dosing_weight, 2),
        "bmi_kg_m2": None if bmi is None else round(bmi, 1),
        "ideal_body_weight_kg": None if ideal is None else round(ideal, 1),
        "adjusted_body_weight_kg": None if adjusted is None else round(adjusted, 1),
        "dose_mg": round(mg, 2),
        "dose_mg_per_kg": round(mg / dosing_weight, 4),
        "limit_checks": checks,
        "sources": tuple(s.short() for s in (protocol.dose.source, protocol.limits.source)),
    }
    if policy is not WeightPolicy.ACTUAL:
        warnings.append(f"Dose is {per_kg_actual:.3f} mg/kg of actual weight ({policy} policy).")
    if protocol.route is Route.INTRANASAL:
        result.update(_devices(protocol, mg, first_device_at))
    else:
        result.update(_volumes(protocol, mg, concentration_mg_per_ml, bag_ml, duration_min))
    delivered = result.get("delivered_dose_mg")
    fraction = dosing_policy().measuring.rounding_warning_fraction
    if isinstance(delivered, float) and abs(delivered - mg) > fraction * mg:
        warnings.append(
            f"Rounding the volume gives {delivered:g} mg instead of {mg:.2f} mg: use a more "
            "dilute strength."
        )
    if protocol.experimental:
        warnings.append(f"{protocol.name}: experimental route; doses are from limited evidence.")
    return DoseCalculation.model_validate({**result, "warnings": tuple(warnings)})


def _devices(protocol: Protocol, mg: float, first_device_at: datetime | None) -> dict[str, object]:
    assert protocol.devices is not None
    device_mg = protocol.devices.device_mg
    count = mg / device_mg
    if abs(count - round(count)) > 1e-9:
        raise InvalidInput(
            f"{mg:g} mg cannot be given with {device_mg:g} mg devices: choose a multiple of "
            f"{device_mg:g} mg.",
            field="dose_mg",
        )
    spacing = protocol.devices.spacing_minutes
    offsets = tuple(i * spacing for i in range(round(count)))
    times: tuple[datetime, ...] = ()
    if first_device_at is not None:
        times = tuple(first_device_at + timedelta(minutes=m) for m in offsets)
    return {
        "devices": round(count),
        "device_mg": device_mg,
        "device_offsets_min": offsets,
        "device_times": times,
    }


def _volumes(
    protocol: Protocol,
    mg: float,
    concentration_mg_per_ml: float | None,
    bag_ml: float | None,
    duration_min: float | None,
) -> dict[str, object]:
    if concentration_mg_per_ml is None:
        stocked = [
            f.concentration_mg_per_ml for f in protocol.formulations if f.concentration_mg_per_ml
        ]
        if not stocked:
            return {}
        # Without a stated vial, use the most dilute stocked strength: the largest, most
        # measurable volume.
        concentration_mg_per_ml = min(stocked)
    if concentration_mg_per_ml <= 0:
        raise InvalidInput(
            f"Concentration must be above 0 mg/mL (got {concentration_mg_per_ml:g}); read it from "
            "the vial label.",
            field="concentration_mg_per_ml",
        )
    increment = dosing_policy().measuring.volume_increment_ml
    volume = round_to(mg / concentration_mg_per_ml, increment)
    if volume <= 0:
        raise InvalidInput(
            f"{mg:g} mg at {concentration_mg_per_ml:g} mg/mL is less than the smallest measurable "
            f"{increment:g} mL: use a more dilute strength.",
            field="concentration_mg_per_ml",
        )
    out: dict[str, object] = {
        "concentration_mg_per_ml": concentration_mg_per_ml,
        "volume_ml": volume,
        "volume_increment_ml": increment,
        "delivered_dose_mg": round(volume * concentration_mg_per_ml, 4),
    }
    if protocol.infusion is None:
        return out
    bag = protocol.infusion.default_bag_ml if bag_ml is None else bag_ml
    minutes = protocol.infusion.default_duration_min if duration_min is None else duration_min
    if bag < 0:
        raise InvalidInput(f"Bag volume cannot be negative (got {bag:g} mL).", field="bag_ml")
    if minutes <= 0:
        raise InvalidInput(
            f"Infusion duration must be above 0 minutes (got {minutes:g}).", field="duration_min"
        )
    total = bag + volume
    rate = round_to(total / (minutes / 60), dosing_policy().measuring.rate_increment_ml_per_h)
    out.update(
        bag_ml=bag, total_infusion_ml=round(total, 4), duration_min=minutes, rate_ml_per_h=rate
    )
    return out
