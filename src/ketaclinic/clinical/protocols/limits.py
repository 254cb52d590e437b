"""A protocol's hard limits as they apply in a clinic, and a dose checked against them.

One home for the limit check: the dose calculation, the plan services and the session's
start-of-dosing check all call :func:`evaluate_dose_limits` (the service
``services.protocol_settings.check_dose_limits`` applies the clinic's settings first).

A limit the sources do not give and the clinic has not set (the mg-per-session ceiling of IV and
IM racemic ketamine) is never filled in with an invented number: the report lists it as
"not configured" and warns, so whoever reads the dose knows it was not checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, computed_field

from ketaclinic.clinical.overrides import Override, split_overridden
from ketaclinic.clinical.protocols.models import DoseBasis, Protocol
from ketaclinic.errors import OverrideRequired

Comparison = Literal["at-most", "at-least", "equals", "one-of"]


class LimitCheck(BaseModel):
    """One limit against one value; ``limit`` and ``within`` are None when not configured."""

    model_config = ConfigDict(frozen=True)

    id: str
    description: str
    limit: float | None
    value: float
    within: bool | None
    comparison: Comparison = "at-most"
    # For "one-of": the values allowed (a fixed-dose regimen's dose options).
    allowed_values: tuple[float, ...] = ()
    configured: bool = True
    source: str | None = None
    override: Override | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> str:
        """ "within", "exceeded", "exceeded, overridden" or "not configured", for people."""
        if not self.configured:
            return "not configured"
        if self.within:
            return "within"
        return "exceeded, overridden" if self.override is not None else "exceeded"


class EffectiveLimit(BaseModel):
    """A limit in force: its value (None = not configured), unit and where it comes from."""

    model_config = ConfigDict(frozen=True)

    id: str
    description: str
    value: float | None
    unit: str
    source: str
    set_by_clinic: bool


class DoseLimitReport(BaseModel):
    """The protocol's limits in force and a dose checked against them."""

    model_config = ConfigDict(frozen=True)

    protocol_id: str
    protocol_name: str
    limits: tuple[EffectiveLimit, ...]
    checks: tuple[LimitCheck, ...]
    warnings: tuple[str, ...] = ()

    @property
    def refused(self) -> list[str]:
        """Ids of the limits breached with no override covering them."""
        return [c.id for c in self.checks if c.within is False and c.override is None]

    def require_within(self) -> None:
        """Raise ``OverrideRequired`` naming every breached limit no override covers."""
        refused = self.refused
        if not refused:
            return
        details = "; ".join(_breach_text(c) for c in self.checks if c.id in refused)
        raise OverrideRequired(
            f"{self.protocol_name}: {details}. A prescriber must override with a written reason "
            f"(limit ids: {', '.join(refused)}).",
            rule_ids=refused,
        )


def _breach_text(check: LimitCheck) -> str:
    if check.comparison == "one-of":
        options = ", ".join(f"{v:g}" for v in check.allowed_values)
        return f"{check.description} are {options}, this is {check.value:g}"
    limit = "not configured" if check.limit is None else f"{check.limit:g}"
    return f"{check.description} is {limit}, this is {check.value:g}"


_SETTING_OF = {
    "max-mg-per-kg": "limits.max_mg_per_kg",
    "max-mg-per-session": "limits.max_mg_per_session",
    "min-interval-days": "limits.min_interval_days",
}


def effective_limits(protocol: Protocol) -> tuple[EffectiveLimit, ...]:
    """The protocol's hard limits (after any clinic settings), each with its source."""
    limits = protocol.limits
    rows: list[tuple[str, str, float | None, str]] = []
    if protocol.dose.basis is DoseBasis.MG_PER_KG:
        # An mg/kg ceiling means nothing for a fixed-dose product (esketamine).
        rows.append(("max-mg-per-kg", "Maximum mg/kg per session", limits.max_mg_per_kg, "mg/kg"))
    rows.append(("max-mg-per-session", "Maximum mg per session", limits.max_mg_per_session, "mg"))
    rows.append(
        ("min-interval-days", "Minimum days between sessions", limits.min_interval_days, "days")
    )
    return tuple(
        EffectiveLimit(
            id=limit_id,
            description=text,
            value=value,
            unit=unit,
            source=protocol.value_source(_SETTING_OF[limit_id], limits.source),
            set_by_clinic=protocol.setting(_SETTING_OF[limit_id]) is not None,
        )
        for limit_id, text, value, unit in rows
    )


def not_configured_warning(protocol: Protocol, limit: EffectiveLimit) -> str:
    return (
        f"No {limit.description.lower()} is configured for {protocol.name}: no source gives one, "
        "so the clinic sets it (Clinic policy, protocol settings). This dose was not checked "
        "against one."
    )


def evaluate_dose_limits(
    protocol: Protocol,
    *,
    dose_mg: float,
    dose_mg_per_kg: float | None = None,
    interval_days: int | None = None,
    overrides: Sequence[Override] = (),
    extra_checks: Sequence[LimitCheck] = (),
) -> DoseLimitReport:
    """Check one session's dose (and its interval since the last session) against the limits.

    Pure: ``protocol`` already carries the clinic's settings. ``extra_checks`` are other
    overridable checks of the same dose (the label's first-session dose) listed with the limits.
    Never raises for a breach; call ``require_within`` to refuse one no override covers.
    """
    values = {
        "max-mg-per-kg": dose_mg_per_kg,
        "max-mg-per-session": dose_mg,
        "min-interval-days": None if interval_days is None else float(interval_days),
    }
    raw: list[LimitCheck] = []
    warnings: list[str] = []
    limits = effective_limits(protocol)
    for limit in limits:
        value = values[limit.id]
        if value is None:
            continue
        at_least = limit.id == "min-interval-days"
        if limit.value is None:
            raw.append(
                LimitCheck(
                    id=limit.id, description=limit.description, limit=None, value=value,
                    within=None, configured=False, source=limit.source,
                )
            )  # fmt: skip
            warnings.append(not_configured_warning(protocol, limit))
            continue
        within = value >= limit.value if at_least else value <= limit.value + 1e-9
        raw.append(
            LimitCheck(
                id=limit.id, description=limit.description, limit=limit.value, value=value,
                within=within, comparison="at-least" if at_least else "at-most",
                source=limit.source,
            )
        )  # fmt: skip
    raw += extra_checks
    breached = [c.id for c in raw if c.within is False]
    covered, _ = split_overridden(breached, overrides)
    checks = tuple(
        c.model_copy(update={"override": covered[c.id]}) if c.id in covered else c for c in raw
    )
    return DoseLimitReport(
        protocol_id=protocol.id,
        protocol_name=protocol.name,
        limits=limits,
        checks=checks,
        warnings=tuple(warnings),
    )
