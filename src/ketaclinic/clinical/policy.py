"""Clinic session policy: the thresholds a clinic may configure, with their sources.

The defaults live in ``clinical/data/clinic_policy.yaml``. Intranasal esketamine uses a protected
"REMS" profile: where the label or the REMS fixes a value, a clinic may only tighten it (a longer
observation, a lower blood-pressure gate), never loosen it, because the REMS certification of the
clinic depends on it. Applying overrides is pure: it returns the effective policy and the list of
what changed, so the service that stores override records can write each one down.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ketaclinic.clinical.knowledge import Source, load_knowledge
from ketaclinic.clinical.outcome_policy import OutcomeOptionsSection
from ketaclinic.clinical.vocabulary import Route
from ketaclinic.errors import ConfigurationError, InvalidInput, RuleViolation


class ProtocolKind(StrEnum):
    """Kinds of treatment protocol; session rules depend on the kind, not on a protocol's id."""

    IV_RACEMIC = "iv-racemic"
    IM_RACEMIC = "im-racemic"
    INTRANASAL_ESKETAMINE = "intranasal-esketamine"
    ORAL_RACEMIC = "oral-racemic"
    SUBLINGUAL_RACEMIC = "sublingual-racemic"

    @property
    def route(self) -> Route:
        return _ROUTES[self]

    @property
    def is_rems(self) -> bool:
        """Esketamine is dispensed only under the SPRAVATO REMS."""
        return self is ProtocolKind.INTRANASAL_ESKETAMINE


_ROUTES = {
    ProtocolKind.IV_RACEMIC: Route.IV,
    ProtocolKind.IM_RACEMIC: Route.IM,
    ProtocolKind.INTRANASAL_ESKETAMINE: Route.INTRANASAL,
    ProtocolKind.ORAL_RACEMIC: Route.ORAL,
    ProtocolKind.SUBLINGUAL_RACEMIC: Route.SUBLINGUAL,
}


def parse_protocol_kind(value: str) -> ProtocolKind:
    try:
        return ProtocolKind(value)
    except ValueError:
        allowed = ", ".join(kind.value for kind in ProtocolKind)
        raise InvalidInput(
            f"Unknown protocol kind {value!r}; allowed: {allowed}.", field="protocol_kind"
        ) from None


class _AllowedRange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min: float
    max: float


class _ProfileValue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    value: float | None
    source: Source


class PolicyParameter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    unit: str
    description: str
    stricter: Literal["lower", "higher"]
    allowed: _AllowedRange
    value: float | None
    source: Source
    rems: _ProfileValue | None = None


class PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    parameters: list[PolicyParameter] = Field(min_length=1)
    # The clinic's starting outcome choices (baseline, remission and relapse definitions).
    outcome_options: OutcomeOptionsSection = OutcomeOptionsSection()

    @model_validator(mode="after")
    def _unique_ids(self) -> PolicyFile:
        ids = [p.id for p in self.parameters]
        if len(ids) != len(set(ids)):
            raise ValueError("parameter ids must be unique")
        return self


class EffectiveValue(BaseModel):
    """One threshold as it applies in a clinic, with where it came from."""

    model_config = ConfigDict(frozen=True)

    id: str
    unit: str
    value: float | None
    source: Source
    protected: bool
    overridden: bool = False


class PolicyOverride(BaseModel):
    """What a clinic changed: the service stores one record per override."""

    model_config = ConfigDict(frozen=True)

    parameter_id: str
    default_value: float | None
    new_value: float | None
    default_source: Source


class EffectivePolicy(BaseModel):
    model_config = ConfigDict(frozen=True)

    protocol_kind: ProtocolKind
    values: dict[str, EffectiveValue]

    def get(self, parameter_id: str) -> float | None:
        try:
            return self.values[parameter_id].value
        except KeyError:
            raise ConfigurationError(f"Policy parameter {parameter_id!r} is not defined.") from None

    def number(self, parameter_id: str) -> float:
        """A parameter that must have a value for this protocol kind."""
        value = self.get(parameter_id)
        if value is None:
            raise ConfigurationError(
                f"Policy parameter {parameter_id!r} has no value for {self.protocol_kind.value}."
            )
        return value

    def source(self, parameter_id: str) -> Source:
        return self.values[parameter_id].source


def policy_file() -> PolicyFile:
    return load_knowledge("ketaclinic.clinical", "clinic_policy.yaml", PolicyFile)


def _check_override(param: PolicyParameter, kind: ProtocolKind, new: float | None) -> None:
    if new is None:
        if kind.is_rems and param.rems is not None and param.rems.value is not None:
            raise RuleViolation(
                f"{param.id} is fixed by the SPRAVATO REMS/label and cannot be switched off.",
                field=param.id,
            )
        return
    if not param.allowed.min <= new <= param.allowed.max:
        raise InvalidInput(
            f"{param.id} = {new:g} {param.unit} is outside the accepted range "
            f"{param.allowed.min:g}-{param.allowed.max:g} {param.unit}; check the value.",
            field=param.id,
        )
    if kind.is_rems and param.rems is not None and param.rems.value is not None:
        fixed = param.rems.value
        looser = new > fixed if param.stricter == "lower" else new < fixed
        if looser:
            direction = "above" if param.stricter == "lower" else "below"
            raise RuleViolation(
                f"{param.id} is protected for esketamine ({fixed:g} {param.unit}, "
                f"{param.rems.source.short()}); a clinic may tighten it but not set it "
                f"{direction} that value (asked for {new:g}).",
                field=param.id,
            )


def effective_policy(
    protocol_kind: ProtocolKind | str,
    overrides: Mapping[str, float | None] | None = None,
) -> tuple[EffectivePolicy, list[PolicyOverride]]:
    """The policy for one protocol kind after a clinic's overrides, and the list of changes.

    Unknown parameter ids, values outside the sanity range and loosening a REMS-protected value are
    refused with an error naming the parameter, so a typo never silently weakens a safety check.
    """
    kind = parse_protocol_kind(protocol_kind) if isinstance(protocol_kind, str) else protocol_kind
    params = {p.id: p for p in policy_file().parameters}
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(params))
    if unknown:
        raise InvalidInput(
            f"Unknown policy parameter(s): {', '.join(unknown)}. "
            f"Allowed: {', '.join(sorted(params))}.",
            field=unknown[0],
        )
    values: dict[str, EffectiveValue] = {}
    changes: list[PolicyOverride] = []
    for param in params.values():
        use_rems = kind.is_rems and param.rems is not None
        base_value = param.rems.value if use_rems and param.rems else param.value
        base_source = param.rems.source if use_rems and param.rems else param.source
        value = base_value
        if param.id in overrides:
            new = overrides[param.id]
            _check_override(param, kind, new)
            if new != base_value:
                changes.append(
                    PolicyOverride(
                        parameter_id=param.id,
                        default_value=base_value,
                        new_value=new,
                        default_source=base_source,
                    )
                )
                value = new
        values[param.id] = EffectiveValue(
            id=param.id,
            unit=param.unit,
            value=value,
            source=base_source,
            protected=use_rems,
            overridden=value != base_value,
        )
    return EffectivePolicy(protocol_kind=kind, values=values), changes


def default_policy(protocol_kind: ProtocolKind | str) -> EffectivePolicy:
    return effective_policy(protocol_kind)[0]
