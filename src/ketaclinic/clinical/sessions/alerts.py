"""In-session alert rules: data in ``clinical/data/alert_rules.yaml``, thresholds from the policy.

The core only decides which rules fire for a reading against the pre-dose baseline; keeping an alert
open until a clinician acknowledges it is the session record's job (``record.py``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ketaclinic.clinical.knowledge import Source, load_knowledge
from ketaclinic.clinical.policy import EffectivePolicy
from ketaclinic.clinical.vitals import validate_vital
from ketaclinic.errors import InvalidInput


class Severity(StrEnum):
    WARNING = "warning"
    URGENT = "urgent"
    CRITICAL = "critical"


CSSRS_RISK_LEVELS = ("none", "low", "moderate", "high")

_VITAL_FIELDS = (
    "systolic_mmhg",
    "diastolic_mmhg",
    "heart_rate_bpm",
    "spo2_percent",
    "respiratory_rate_per_min",
)

NUMERIC_MEASURES = (
    "systolic_mmhg",
    "diastolic_mmhg",
    "heart_rate_bpm",
    "spo2_percent",
    "respiratory_rate_per_min",
    "moaas",
    "cadss_total",
    "bprs_positive_total",
    "phq9_item9",
    "systolic_rise_mmhg",
    "diastolic_rise_mmhg",
    "cadss_change",
    "bprs_positive_change",
)


class Measures(BaseModel):
    """What was measured at one moment; any field may be absent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    systolic_mmhg: float | None = None
    diastolic_mmhg: float | None = None
    heart_rate_bpm: float | None = None
    spo2_percent: float | None = None
    respiratory_rate_per_min: float | None = None
    moaas: int | None = Field(default=None, ge=0, le=5)
    cadss_total: float | None = Field(default=None, ge=0)
    bprs_positive_total: float | None = Field(default=None, ge=0)
    phq9_item9: int | None = Field(default=None, ge=0, le=3)
    cssrs_risk: str | None = None

    @model_validator(mode="after")
    def _check_values(self) -> Measures:
        # One plausibility table for the whole project (the vitals data), with the session floor:
        # an apnoeic or desaturating patient's reading must be charted so its alert can fire.
        for kind in _VITAL_FIELDS:
            value = getattr(self, kind)
            if value is not None:
                validate_vital(kind, value, monitoring=True)
        if self.cssrs_risk is not None and self.cssrs_risk not in CSSRS_RISK_LEVELS:
            raise ValueError(
                f"cssrs_risk {self.cssrs_risk!r} is not one of {', '.join(CSSRS_RISK_LEVELS)}"
            )
        return self

    def merged_over(self, older: Measures) -> Measures:
        """These values, falling back to ``older`` for anything not measured now."""
        mine = self.model_dump(exclude_none=True)
        return older.model_copy(update=mine)


def _difference(now: float | None, base: float | None) -> float | None:
    return None if now is None or base is None else now - base


def derived_measures(current: Measures, baseline: Measures) -> dict[str, float | str | None]:
    values: dict[str, float | str | None] = dict(current.model_dump())
    values["systolic_rise_mmhg"] = _difference(current.systolic_mmhg, baseline.systolic_mmhg)
    values["diastolic_rise_mmhg"] = _difference(current.diastolic_mmhg, baseline.diastolic_mmhg)
    values["cadss_change"] = _difference(current.cadss_total, baseline.cadss_total)
    values["bprs_positive_change"] = _difference(
        current.bprs_positive_total, baseline.bprs_positive_total
    )
    return values


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    measure: str
    op: Literal[">", ">=", "<", "<=", "in"]
    parameter: str | None = None
    value: float | None = None
    values: list[str] | None = None

    @model_validator(mode="after")
    def _one_threshold(self) -> Condition:
        given = [x for x in (self.parameter, self.value, self.values) if x is not None]
        if len(given) != 1:
            raise ValueError(
                f"condition on {self.measure} needs exactly one of parameter/value/values"
            )
        if (self.op == "in") != (self.values is not None):
            raise ValueError(f"condition on {self.measure}: 'in' goes with 'values' only")
        if self.op != "in" and self.measure not in NUMERIC_MEASURES:
            raise ValueError(f"unknown numeric measure {self.measure!r}")
        return self

    def threshold(self, policy: EffectivePolicy) -> float:
        return self.value if self.parameter is None else policy.number(self.parameter)  # type: ignore[return-value]

    def holds(self, values: dict[str, float | str | None], policy: EffectivePolicy) -> bool:
        observed = values.get(self.measure)
        if observed is None:
            return False
        if self.op == "in":
            return str(observed) in (self.values or [])
        assert isinstance(observed, int | float)
        limit = self.threshold(policy)
        return {
            ">": observed > limit,
            ">=": observed >= limit,
            "<": observed < limit,
            "<=": observed <= limit,
        }[self.op]

    def describe(self, values: dict[str, float | str | None], policy: EffectivePolicy) -> str:
        observed = values.get(self.measure)
        if self.op == "in":
            return f"{self.measure} = {observed}"
        shown = f"{observed:g}" if isinstance(observed, int | float) else str(observed)
        return f"{self.measure} {shown} {self.op} {self.threshold(policy):g}"


class AlertRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    severity: Severity
    match: Literal["any", "all"]
    conditions: list[Condition] = Field(min_length=1)
    suggested_action: str
    source: Source

    def parameters(self) -> list[str]:
        return [c.parameter for c in self.conditions if c.parameter is not None]


class AlertRuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    rules: list[AlertRule] = Field(min_length=1)


class AlertFinding(BaseModel):
    """A rule that fired for one reading; the record turns it into an open alert."""

    model_config = ConfigDict(frozen=True)

    rule_id: str
    title: str
    severity: Severity
    observed_at: datetime
    message: str
    suggested_action: str
    source: Source
    verified: bool
    uses_clinic_override: bool


def alert_rules() -> list[AlertRule]:
    return load_knowledge("ketaclinic.clinical", "alert_rules.yaml", AlertRuleFile).rules


def evaluate_alerts(
    current: Measures,
    baseline: Measures,
    policy: EffectivePolicy,
    *,
    observed_at: datetime,
) -> list[AlertFinding]:
    """Every rule that fires for ``current`` (compared with the pre-dose ``baseline``)."""
    if observed_at.tzinfo is None:
        raise InvalidInput("observed_at needs a time zone.", field="observed_at")
    values = derived_measures(current, baseline)
    findings: list[AlertFinding] = []
    for rule in alert_rules():
        results = [c.holds(values, policy) for c in rule.conditions]
        fired = any(results) if rule.match == "any" else all(results)
        if not fired:
            continue
        reasons = [
            c.describe(values, policy) for c, ok in zip(rule.conditions, results, strict=True) if ok
        ]
        params = rule.parameters()
        verified = rule.source.verified and all(policy.source(p).verified for p in params)
        findings.append(
            AlertFinding(
                rule_id=rule.id,
                title=rule.title,
                severity=rule.severity,
                observed_at=observed_at,
                message=f"{rule.title}: {'; '.join(reasons)}.",
                suggested_action=rule.suggested_action,
                source=rule.source,
                verified=verified,
                uses_clinic_override=any(policy.values[p].overridden for p in params),
            )
        )
    return findings
