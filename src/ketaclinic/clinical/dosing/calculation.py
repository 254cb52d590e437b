"""One home for a ketamine or esketamine dose: weight, mg, volume, bag, rate, devices, limits.

A dose is computed from the protocol (data), the patient's weight under the clinic's body-weight
policy, and what the pharmacy stocks. Limits refuse the dose with ``OverrideRequired`` unless a
prescriber's ``Override`` names the limit; the result then carries the override. Nothing here
reads a clock: session dates are passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from ketaclinic.clinical.dosing.body_weight import WeightPolicy, validate_body, weight_for_policy
from ketaclinic.clinical.dosing.policy import dosing_policy, round_to
from ketaclinic.clinical.overrides import Override
from ketaclinic.clinical.protocols import DoseBasis, Protocol, RegionalProfile, get_protocol
from ketaclinic.clinical.protocols.limits import LimitCheck, evaluate_dose_limits
from ketaclinic.clinical.vocabulary import Route, Sex
from ketaclinic.errors import InvalidInput

__all__ = ["DoseCalculation", "LimitCheck", "calculate_dose"]


class DoseCalculation(BaseModel):
    model_config = ConfigDict(frozen=True)

    protocol_id: str
    weight_policy: WeightPolicy
    actual_weight_kg: float
    # When the weight dosed on was measured (None when the caller gave a bare number).
    weight_measured_on: date | None = None
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
    regional_profile: str | None = None
    warnings: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


def _regional_profile(
    protocol: Protocol, profile_id: str | None, age_years: int | None
) -> RegionalProfile | None:
    if profile_id is None:
        return None
    profile = next((r for r in protocol.regional_profiles if r.id == profile_id), None)
    if profile is None:
        known = ", ".join(r.id for r in protocol.regional_profiles) or "none"
        raise InvalidInput(
            f"{protocol.id} has no regional profile '{profile_id}' (profiles: {known}).",
            field="regional_profile",
        )
    if profile.min_age_years is not None:
        if age_years is None:
            raise InvalidInput(
                f"The {profile.id} profile depends on age: give the patient's age.",
                field="age_years",
            )
        if age_years < profile.min_age_years:
            raise InvalidInput(
                f"The {profile.id} profile applies from age {profile.min_age_years}; "
                f"the patient is {age_years}.",
                field="regional_profile",
            )
    return profile


def _requested_dose(
    protocol: Protocol,
    dosing_weight_kg: float,
    dose_mg_per_kg: float | None,
    dose_mg: float | None,
    first_session: bool,
    profile: RegionalProfile | None = None,
) -> tuple[float, list[str], list[LimitCheck]]:
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
        return per_kg * dosing_weight_kg, warnings, []
    if dose_mg_per_kg is not None:
        raise InvalidInput(
            f"{protocol.id} is a fixed dose: give dose_mg, not dose_mg_per_kg.",
            field="dose_mg_per_kg",
        )
    first = spec.first_session
    allowed = spec.allowed
    source = spec.source.short()
    if profile is not None:
        first = profile.first_session_dose_mg or first
        allowed = profile.dose_options_mg or allowed
        source = profile.source.short()
    default = first if first_session and first else spec.default
    mg = dose_mg if dose_mg is not None else default
    if mg is None or mg <= 0:
        raise InvalidInput(f"{protocol.id}: dose_mg must be above zero.", field="dose_mg")
    checks: list[LimitCheck] = []
    if first_session and spec.first_session_required and first is not None:
        # The label fixes day 1 (SPRAVATO TRD: 56 mg; 28 mg under the EU 65+ profile).
        checks.append(
            LimitCheck(
                id="first-session-dose", description="Label first-session dose (mg)",
                limit=first, value=mg, within=abs(mg - first) < 1e-9, comparison="equals",
                source=source,
            )
        )  # fmt: skip
    if allowed:
        # A dose the regimen does not offer (28 mg on the US label) needs the regional profile
        # or a prescriber's override; above the top option the mg ceiling applies as well.
        # Above the top option only the mg ceiling speaks, so one override id covers it.
        described = "Dose options of this regimen (mg)" + (
            "; a regional profile may offer others" if protocol.regional_profiles else ""
        )
        checks.append(
            LimitCheck(
                id="regimen-dose", description=described, limit=None, value=mg,
                within=mg in allowed or mg > max(allowed), comparison="one-of",
                allowed_values=allowed, source=source,
            )
        )  # fmt: skip
    return mg, warnings, checks


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
    policy: WeightPolicy | None = None,
    first_session: bool = False,
    last_session_on: date | None = None,
    session_on: date | None = None,
    first_device_at: datetime | None = None,
    regional_profile: str | None = None,
    age_years: int | None = None,
    overrides: Sequence[Override] = (),
    weight_measured_on: date | None = None,
    max_weight_age_days: int | None = None,
) -> DoseCalculation:
    """Compute a session's dose and how to give it; raise ``OverrideRequired`` above a limit.

    ``protocol`` as the clinic applies it (``services.protocol_settings.effective_protocol``);
    a protocol id reads the sourced protocol with no clinic settings.
    """
    if isinstance(protocol, str):
        protocol = get_protocol(protocol)
    if policy is None:
        # The clinic's body-weight choice for this protocol (actual unless it set another).
        policy = protocol.dose.weight_policy
    bmi = validate_body(weight_kg, height_cm)
    dosing_weight, ideal, adjusted = weight_for_policy(policy, weight_kg, height_cm, sex)
    profile = _regional_profile(protocol, regional_profile, age_years)
    mg, warnings, dose_checks = _requested_dose(
        protocol, dosing_weight, dose_mg_per_kg, dose_mg, first_session, profile
    )
    formulas = dosing_policy().body_weight
    if bmi is not None and bmi > formulas.high_bmi_kg_m2 and policy is WeightPolicy.ACTUAL:
        warnings.append(
            f"BMI {bmi:.1f} is above {formulas.high_bmi_kg_m2:g}: some clinics dose on adjusted "
            f"body weight ({formulas.practice_label})."
        )
    if weight_measured_on is not None and session_on is not None and max_weight_age_days:
        age = abs((session_on - weight_measured_on).days)
        if age > max_weight_age_days:
            warnings.append(
                f"The weight dosed on was measured {weight_measured_on.isoformat()}, {age} days "
                f"from the session; the clinic policy asks for one within {max_weight_age_days} "
                "days: weigh the patient again before dosing."
            )
    interval_days = None
    if last_session_on is not None and session_on is not None:
        interval_days = (session_on - last_session_on).days
    per_kg_actual = mg / weight_kg
    report = evaluate_dose_limits(
        protocol,
        dose_mg=mg,
        dose_mg_per_kg=mg / dosing_weight,
        interval_days=interval_days,
        overrides=overrides,
        extra_checks=dose_checks,
    )
    warnings += report.warnings
    result: dict[str, object] = {
        "protocol_id": protocol.id,
        "weight_policy": policy,
        "actual_weight_kg": weight_kg,
        "weight_measured_on": weight_measured_on,
        "dosing_weight_kg": round(dosing_weight, 2),
        "bmi_kg_m2": None if bmi is None else round(bmi, 1),
        "ideal_body_weight_kg": None if ideal is None else round(ideal, 1),
        "adjusted_body_weight_kg": None if adjusted is None else round(adjusted, 1),
        "dose_mg": round(mg, 2),
        "dose_mg_per_kg": round(mg / dosing_weight, 4),
        "limit_checks": report.checks,
        "regional_profile": None if profile is None else profile.id,
        "sources": tuple(
            [
                s.short()
                for s in (
                    protocol.dose.source,
                    protocol.limits.source,
                    *([profile.source] if profile else []),
                )
            ]
            + [f"{a.setting_id}: {a.short()}" for a in protocol.clinic_settings]
        ),
    }
    if policy is not WeightPolicy.ACTUAL:
        warnings.append(
            f"Dose is {per_kg_actual:.3f} mg/kg of actual weight: dosed on {policy} body weight "
            f"({formulas.practice_label})."
        )
    # A dose that cannot be measured or given is bad input, refused before any limit question.
    if protocol.route is Route.INTRANASAL:
        result.update(_devices(protocol, mg, first_device_at))
    else:
        result.update(_volumes(protocol, mg, concentration_mg_per_ml, bag_ml, duration_min))
    report.require_within()
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
    # The drug is added to the bag without first withdrawing an equal volume, so the pump must
    # run bag plus drug in the set time to deliver the whole dose.
    total = bag + volume
    rate = round_to(total / (minutes / 60), dosing_policy().measuring.rate_increment_ml_per_h)
    out.update(
        bag_ml=bag, total_infusion_ml=round(total, 4), duration_min=minutes, rate_ml_per_h=rate
    )
    return out
