"""Clinic settings of a protocol: the values a protocol declares ``configurable``, set by a clinic.

A protocol's YAML says which of its values a clinic may set (``configurable:``); the definitions
in ``data/protocol_settings.yaml`` say what kind of value each is and how far a clinic may move
it. A clinic may narrow a sourced dose range or lower a sourced ceiling, never widen or raise it:
those figures are the highest doses studied or labelled. A value no source gives (the IV/IM mg per
session ceiling) is the clinic's to choose.

Pure: :func:`apply_settings` takes the stored settings (who, when, why) and returns the protocol
as it applies in the clinic, carrying them in ``clinic_settings`` so every dose and page can say
where a value came from. The storage and audit live in ``services.protocol_settings``.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ketaclinic.clinical.knowledge import Source, load_knowledge
from ketaclinic.clinical.protocols.models import AppliedSetting, Protocol, SettingValue
from ketaclinic.errors import InvalidInput


class SettingKind(StrEnum):
    NUMBER = "number"
    INTEGER = "integer"
    NUMBER_LIST = "number-list"
    CHOICE = "choice"


class Narrowing(StrEnum):
    WITHIN_DOSE_RANGE = "within-dose-range"
    AT_OR_BELOW_SOURCE = "at-or-below-source"
    NONE = "none"


class _Range(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min: float
    max: float


class SettingDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    description: str
    unit: str
    kind: SettingKind
    narrow: Narrowing
    nullable: bool = False
    choices: tuple[str, ...] = ()
    allowed: _Range | None = None
    source: Source


class _SettingsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    source: Source
    settings: tuple[SettingDefinition, ...] = Field(min_length=1)


@cache
def setting_definitions() -> dict[str, SettingDefinition]:
    data = load_knowledge("ketaclinic.clinical", "protocol_settings.yaml", _SettingsFile)
    return {d.id: d for d in data.settings}


def _path(setting_id: str) -> tuple[str, str]:
    section, _, name = setting_id.partition(".")
    return section, name


def sourced_value(protocol: Protocol, setting_id: str) -> SettingValue:
    """The value the protocol's data gives (None where there is none: an unset ceiling)."""
    section, name = _path(setting_id)
    part = getattr(protocol, section)
    value = None if part is None else getattr(part, name)
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _number(setting: SettingDefinition, raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise InvalidInput(f"{setting.id}: write a number ({setting.unit}).", field=setting.id)
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(
            f"{setting.id}: {raw!r} is not a number ({setting.unit}).", field=setting.id
        ) from None
    # Without a sanity range a value must be positive (a dose, a ceiling); NaN is never a value.
    if value != value or (setting.allowed is None and value <= 0):
        raise InvalidInput(f"{setting.id} must be above zero.", field=setting.id)
    if setting.kind is SettingKind.INTEGER and value != int(value):
        raise InvalidInput(f"{setting.id} is a whole number of {setting.unit}.", field=setting.id)
    if setting.allowed is not None and not setting.allowed.min <= value <= setting.allowed.max:
        raise InvalidInput(
            f"{setting.id} = {value:g} {setting.unit} is outside the accepted range "
            f"{setting.allowed.min:g}-{setting.allowed.max:g}; check the value and its unit.",
            field=setting.id,
        )
    return value


def _narrowed(protocol: Protocol, setting: SettingDefinition, values: Sequence[float]) -> None:
    """Refuse a value that widens a sourced range or raises a sourced ceiling."""
    if setting.narrow is Narrowing.WITHIN_DOSE_RANGE:
        low, high = protocol.dose.minimum, protocol.dose.maximum
        outside = [v for v in values if not low <= v <= high]
        if outside:
            raise InvalidInput(
                f"{setting.id}: {', '.join(f'{v:g}' for v in outside)} lies outside the "
                f"protocol's sourced range {low:g}-{high:g} {protocol.dose.unit} "
                f"({protocol.dose.source.short()}); a clinic may narrow the range, not widen it.",
                field=setting.id,
            )
    if setting.narrow is Narrowing.AT_OR_BELOW_SOURCE:
        ceiling = sourced_value(protocol, setting.id)
        if ceiling is None and setting.id == "limits.max_mg_per_kg":
            ceiling = protocol.dose.maximum
        if isinstance(ceiling, float) and any(v > ceiling + 1e-9 for v in values):
            raise InvalidInput(
                f"{setting.id} may be lowered, not raised above the sourced {ceiling:g} "
                f"{setting.unit} ({protocol.limits.source.short()}).",
                field=setting.id,
            )


def validate_setting(protocol: Protocol, setting_id: str, raw: Any) -> SettingValue:
    """The value as stored, or an error naming the setting and what is allowed.

    ``protocol`` is the protocol as its data gives it (settings are judged against the sources,
    not against another clinic setting).
    """
    if setting_id not in protocol.configurable:
        allowed = ", ".join(protocol.configurable) or "none"
        raise InvalidInput(
            f"{protocol.id} does not let a clinic set '{setting_id}'. Settable: {allowed}.",
            field="setting_id",
        )
    setting = setting_definitions().get(setting_id)
    if setting is None:
        raise InvalidInput(f"'{setting_id}' is not a known setting.", field="setting_id")
    if raw is None or raw == "":
        if not setting.nullable:
            raise InvalidInput(f"{setting_id} needs a value.", field=setting_id)
        return None
    if setting.kind is SettingKind.CHOICE:
        if raw not in setting.choices:
            raise InvalidInput(
                f"{setting_id}: {raw!r} is not one of {', '.join(setting.choices)}.",
                field=setting_id,
            )
        return str(raw)
    if setting.kind is SettingKind.NUMBER_LIST:
        items = raw.replace(",", " ").split() if isinstance(raw, str) else raw
        if not isinstance(items, list | tuple) or not items:
            raise InvalidInput(
                f"{setting_id}: list the steps, e.g. 0.5, 0.75, 1.0.", field=setting_id
            )
        steps = tuple(_number(setting, item) for item in items)
        if list(steps) != sorted(set(steps)):
            raise InvalidInput(f"{setting_id}: steps go up, each once.", field=setting_id)
        _narrowed(protocol, setting, steps)
        return steps
    value = _number(setting, raw)
    _narrowed(protocol, setting, [value])
    return value


def apply_settings(protocol: Protocol, applied: Sequence[AppliedSetting]) -> Protocol:
    """The protocol with the clinic's settings in place of its sourced values.

    Settings no longer allowed by the protocol (its data changed since) are refused loudly, and
    a combination that contradicts itself (a default above a narrowed maximum) names the setting.
    """
    if not applied:
        return protocol
    data = protocol.model_dump()
    for setting in applied:
        value = validate_setting(protocol, setting.setting_id, setting.value)
        section, name = _path(setting.setting_id)
        if setting.setting_id == "limits.min_interval_days" and isinstance(value, float):
            value = int(value)
        data[section][name] = value
    data["clinic_settings"] = [s.model_dump() for s in applied]
    try:
        return Protocol.model_validate(data)
    except ValidationError as exc:
        names = ", ".join(s.setting_id for s in applied)
        raise InvalidInput(
            f"The clinic settings of {protocol.id} ({names}) contradict each other: "
            f"{exc.errors()[0]['msg']}.",
            field=applied[-1].setting_id,
        ) from exc
