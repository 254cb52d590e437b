"""Typed model of a treatment protocol, as stored in ``clinical/data/protocols/*.yaml``."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ketaclinic.clinical.knowledge import Source
from ketaclinic.clinical.vocabulary import ConditionId, Route, WeightPolicy


class Product(StrEnum):
    RACEMIC_KETAMINE = "racemic-ketamine"
    ESKETAMINE = "esketamine"


class DoseBasis(StrEnum):
    MG_PER_KG = "mg-per-kg"
    FIXED_MG = "fixed-mg"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Formulation(_Frozen):
    id: str
    description: str
    # None where the strength varies (compounded products): the pharmacist must enter it.
    concentration_mg_per_ml: float | None = Field(default=None, gt=0)
    device_mg: float | None = Field(default=None, gt=0)
    source: Source


class DoseSpec(_Frozen):
    basis: DoseBasis
    # None for experimental routes: the prescriber must state the dose.
    default: float | None = Field(default=None, gt=0)
    minimum: float = Field(gt=0)
    maximum: float = Field(gt=0)
    first_session: float | None = Field(default=None, gt=0)
    # True where the label fixes the first dose (SPRAVATO TRD: 56 mg on day 1): another
    # first-session dose needs a prescriber's override ("first-session-dose") with a reason.
    first_session_required: bool = False
    # The body weight an mg/kg dose is computed on unless the plan says otherwise.
    weight_policy: WeightPolicy = WeightPolicy.ACTUAL
    titration_steps: tuple[float, ...] = ()
    # Fixed-dose products given only in these amounts (esketamine 56 or 84 mg).
    allowed: tuple[float, ...] = ()
    source: Source

    @property
    def unit(self) -> str:
        return "mg/kg" if self.basis is DoseBasis.MG_PER_KG else "mg"

    @model_validator(mode="after")
    def _range_is_consistent(self) -> DoseSpec:
        if self.minimum > self.maximum:
            raise ValueError("dose minimum is above its maximum")
        for value in (self.default, self.first_session, *self.titration_steps, *self.allowed):
            if value is not None and not self.minimum <= value <= self.maximum:
                raise ValueError(f"dose {value} lies outside {self.minimum}-{self.maximum}")
        return self


class Infusion(_Frozen):
    default_duration_min: float = Field(gt=0)
    default_bag_ml: float = Field(gt=0)
    source: Source


class Devices(_Frozen):
    device_mg: float = Field(gt=0)
    spacing_minutes: float = Field(ge=0)
    source: Source


class HardLimits(_Frozen):
    max_mg_per_kg: float | None = Field(default=None, gt=0)
    max_mg_per_session: float | None = Field(default=None, gt=0)
    min_interval_days: int = Field(ge=0)
    source: Source


class Phase(_Frozen):
    id: str
    name: str
    kind: Literal["induction", "maintenance"]
    sessions_per_week: float = Field(gt=0, le=7)
    session_count: int = Field(gt=0)
    review_action: str | None = None
    source: Source


class RegionalProfile(_Frozen):
    id: str
    region: str
    description: str
    min_age_years: int | None = None
    first_session_dose_mg: float | None = None
    dose_options_mg: tuple[float, ...] = ()
    source: Source


SettingValue = float | tuple[float, ...] | str | None


class AppliedSetting(_Frozen):
    """A value the clinic set in place of the protocol's sourced one: who, when and why."""

    setting_id: str
    value: SettingValue
    default_value: SettingValue
    reason: str
    changed_by: str
    changed_at: datetime

    def short(self) -> str:
        return (
            f"clinic setting by {self.changed_by} on {self.changed_at.date().isoformat()}: "
            f"{self.reason}"
        )


class Review(_Frozen):
    action: str
    source: Source


class Protocol(_Frozen):
    id: str = Field(pattern=r"^[a-z0-9-]+$")
    name: str
    product: Product
    route: Route
    indications: tuple[ConditionId, ...]
    experimental: bool
    off_label: bool
    formulations: tuple[Formulation, ...]
    dose: DoseSpec
    infusion: Infusion | None = None
    devices: Devices | None = None
    limits: HardLimits
    age_min_years: int | None = None
    age_max_years: int | None = None
    phases: tuple[Phase, ...] = Field(min_length=1)
    maintenance_options: tuple[Phase, ...] = ()
    regional_profiles: tuple[RegionalProfile, ...] = ()
    review: Review
    sources: tuple[Source, ...] = Field(min_length=1)
    configurable: tuple[str, ...] = ()
    # Never in the YAML: the clinic's settings applied to this protocol (see settings.py).
    clinic_settings: tuple[AppliedSetting, ...] = ()

    def setting(self, setting_id: str) -> AppliedSetting | None:
        """The clinic's setting for ``setting_id`` (e.g. ``limits.max_mg_per_session``), if any."""
        return next((s for s in self.clinic_settings if s.setting_id == setting_id), None)

    def value_source(self, setting_id: str, sourced: Source) -> str:
        """Where a value comes from: the clinic's setting, else the protocol's own source."""
        applied = self.setting(setting_id)
        return sourced.short() if applied is None else applied.short()

    @property
    def verified(self) -> bool:
        """False when any figure the protocol relies on is unverified."""
        return all(source.verified for source in self.all_sources())

    def all_sources(self) -> list[Source]:
        found = [*self.sources, self.dose.source, self.limits.source, self.review.source]
        found += [f.source for f in self.formulations]
        found += [p.source for p in (*self.phases, *self.maintenance_options)]
        found += [r.source for r in self.regional_profiles]
        if self.infusion is not None:
            found.append(self.infusion.source)
        if self.devices is not None:
            found.append(self.devices.source)
        return found

    def maintenance_option(self, option_id: str) -> Phase | None:
        return next((p for p in self.maintenance_options if p.id == option_id), None)

    @model_validator(mode="after")
    def _default_within_limits(self) -> Protocol:
        # A default dose the protocol's own ceiling refuses would be refused at every session.
        ceiling = self.limits.max_mg_per_kg
        default = self.dose.default
        per_kg = self.dose.basis is DoseBasis.MG_PER_KG
        if per_kg and ceiling is not None and default is not None and default > ceiling + 1e-9:
            raise ValueError(
                f"the default dose {default:g} mg/kg is above the {ceiling:g} mg/kg ceiling"
            )
        return self

    @model_validator(mode="after")
    def _route_has_its_parts(self) -> Protocol:
        if self.route is Route.IV and self.infusion is None:
            raise ValueError(f"{self.id}: an IV protocol needs infusion defaults")
        if self.route is Route.INTRANASAL and self.devices is None:
            raise ValueError(f"{self.id}: an intranasal protocol needs its device size")
        return self


class ProtocolFile(BaseModel):
    # ``_shared`` blocks hold YAML anchors reused by the protocols; only ``protocols`` is read.
    model_config = ConfigDict(extra="ignore", frozen=True)

    protocols: tuple[Protocol, ...]
