"""Pre-dose checks: what must be true before the first dose of a session.

Which checks a protocol kind needs lives in ``clinical/data/predose_checks.yaml`` with its source;
the minutes and blood-pressure values come from the clinic policy. Each item ends as passed, failed
(something to fix or wait for: the nurse can act) or needs-decision (a clinician weighs it: a
blood pressure above the gate, a positive suicide screen, a positive pregnancy status). A
needs-decision item passes once a clinician's decision to proceed, with a note, is supplied.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ketaclinic.clinical.knowledge import Source, load_knowledge
from ketaclinic.clinical.policy import EffectivePolicy, ProtocolKind
from ketaclinic.clinical.sessions.alerts import AlertFinding, Measures, evaluate_alerts
from ketaclinic.errors import InvalidInput

PregnancyStatus = Literal["not-applicable", "not-pregnant", "pregnant", "unknown"]


class CheckStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NEEDS_DECISION = "needs-decision"
    DECIDED = "decided"  # needed a decision and a clinician decided to proceed


class PredoseCheckDef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    title: str
    kinds: list[ProtocolKind]
    source: Source


class _PredoseFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    checks: list[PredoseCheckDef]


class PredoseInputs(BaseModel):
    """What the nurse has recorded at check-in, and what the record says (eligibility, the signed
    plan's dose and the protocol's limits, REMS enrolment: the service fills those in, never the
    nurse); None means not yet recorded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    consent_current: bool | None = None
    # Esketamine: an active SPRAVATO REMS patient enrolment in the consent register.
    rems_enrolled: bool | None = None
    identity_confirmed: bool | None = None
    last_food_at: datetime | None = None
    last_liquid_at: datetime | None = None
    escort_confirmed: bool | None = None
    transport_confirmed: bool | None = None
    pregnancy_status: PregnancyStatus | None = None
    baseline: Measures = Measures()
    eligibility_valid: bool | None = None
    eligibility_valid_until: datetime | None = None
    # Where the eligibility answer comes from (the screening in force, its overrides).
    eligibility_summary: str | None = None
    planned_dose_mg: float | None = Field(default=None, gt=0)
    # The tightest configured ceiling in mg; None when the protocol has none configured.
    max_dose_mg: float | None = Field(default=None, gt=0)
    dose_override_recorded: bool = False
    # Where the planned dose comes from (plan version, calendar session), or why there is none.
    dose_summary: str | None = None
    dose_problem: str | None = None


class ClinicianDecision(BaseModel):
    """A clinician's decision to go ahead despite a needs-decision item."""

    model_config = ConfigDict(frozen=True)
    by: str = Field(min_length=1)
    at: datetime
    note: str = Field(min_length=3)


class PredoseItem(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    title: str
    status: CheckStatus
    message: str
    source: Source
    decision: ClinicianDecision | None = None


class PredoseResult(BaseModel):
    model_config = ConfigDict(frozen=True)
    protocol_kind: ProtocolKind
    evaluated_at: datetime
    items: list[PredoseItem]
    alerts: list[AlertFinding]

    @property
    def status(self) -> CheckStatus:
        states = {item.status for item in self.items}
        if CheckStatus.FAILED in states:
            return CheckStatus.FAILED
        if CheckStatus.NEEDS_DECISION in states:
            return CheckStatus.NEEDS_DECISION
        return CheckStatus.PASSED

    @property
    def passed(self) -> bool:
        return self.status is CheckStatus.PASSED

    def unmet(self) -> list[PredoseItem]:
        return [
            i for i in self.items if i.status in (CheckStatus.FAILED, CheckStatus.NEEDS_DECISION)
        ]


def predose_checks(kind: ProtocolKind) -> list[PredoseCheckDef]:
    checks = load_knowledge("ketaclinic.clinical", "predose_checks.yaml", _PredoseFile).checks
    return [c for c in checks if kind in c.kinds]


_Outcome = tuple[CheckStatus, str]
P, F, D = CheckStatus.PASSED, CheckStatus.FAILED, CheckStatus.NEEDS_DECISION


def _yes(value: bool | None, what: str) -> _Outcome:
    if value is None:
        return F, f"{what}: not recorded yet."
    return (P, f"{what}: yes.") if value else (F, f"{what}: no; resolve before dosing.")


def _fasting(inputs: PredoseInputs, policy: EffectivePolicy, at: datetime) -> _Outcome:
    problems: list[str] = []
    for label, last, param in (
        ("food", inputs.last_food_at, "fasting_food_minutes"),
        ("liquids", inputs.last_liquid_at, "fasting_liquid_minutes"),
    ):
        minutes = policy.get(param)
        if minutes is None:
            continue
        if last is None:
            problems.append(f"time of last {label} not recorded (needs {minutes:g} min)")
        elif at - last < timedelta(minutes=minutes):
            ready = last + timedelta(minutes=minutes)
            since = (at - last).total_seconds() / 60
            problems.append(
                f"last {label} {since:.0f} min ago; needs {minutes:g} min; "
                f"earliest dosing {ready.isoformat(timespec='minutes')}"
            )
    if problems:
        return F, "Fasting: " + "; ".join(problems) + "."
    if policy.get("fasting_food_minutes") is None and policy.get("fasting_liquid_minutes") is None:
        return P, "Fasting: not required by this protocol or the clinic."
    return P, "Fasting: as required."


def _escort(inputs: PredoseInputs) -> _Outcome:
    missing = [
        name
        for name, ok in (
            ("escort", inputs.escort_confirmed),
            ("transport", inputs.transport_confirmed),
        )
        if not ok
    ]
    if missing:
        return F, (
            f"Not confirmed: {', '.join(missing)}. The patient must not drive until the next day "
            "after sleep."
        )
    return P, "Escort and transport home confirmed."


def _pregnancy(inputs: PredoseInputs) -> _Outcome:
    status = inputs.pregnancy_status
    if status is None or status == "unknown":
        return F, "Pregnancy status: not recorded; record it (or 'not applicable')."
    if status == "pregnant":
        return (
            D,
            "Pregnancy status: pregnant. The prescriber must decide (relative contraindication).",
        )
    return P, f"Pregnancy status: {status}."


_BASELINE_VITALS = (
    "systolic_mmhg",
    "diastolic_mmhg",
    "heart_rate_bpm",
    "spo2_percent",
    "respiratory_rate_per_min",
)


def _baseline(inputs: PredoseInputs) -> _Outcome:
    missing = [v for v in _BASELINE_VITALS if getattr(inputs.baseline, v) is None]
    if missing:
        return F, f"Baseline vitals missing: {', '.join(missing)}."
    return P, "Baseline vitals recorded."


def _suicide_screen(inputs: PredoseInputs, alerts: list[AlertFinding]) -> _Outcome:
    base = inputs.baseline
    missing = [
        n for n, v in (("PHQ-9 item 9", base.phq9_item9), ("C-SSRS", base.cssrs_risk)) if v is None
    ]
    if missing:
        return F, f"Not done: {', '.join(missing)}."
    positive = [a for a in alerts if a.rule_id.startswith("suicide-screen")]
    if positive:
        return D, "Positive screen: " + "; ".join(
            a.message for a in positive
        ) + " Risk assessment first."
    return P, "PHQ-9 item 9 and C-SSRS screener negative."


def _bp_gate(inputs: PredoseInputs, policy: EffectivePolicy) -> _Outcome:
    sys_, dia = inputs.baseline.systolic_mmhg, inputs.baseline.diastolic_mmhg
    if sys_ is None or dia is None:
        return F, "Pre-dose blood pressure not recorded."
    gate_sys = policy.number("predose_bp_gate_systolic_mmhg")
    gate_dia = policy.number("predose_bp_gate_diastolic_mmhg")
    if sys_ > gate_sys or dia > gate_dia:
        return D, (
            f"BP {sys_:g}/{dia:g} mmHg is above {gate_sys:g}/{gate_dia:g}: the prescriber weighs "
            "delaying the dose (recheck after rest)."
        )
    return P, f"BP {sys_:g}/{dia:g} mmHg within the pre-dose gate."


def _eligibility_problem(inputs: PredoseInputs, at: datetime) -> str | None:
    where = f" ({inputs.eligibility_summary})" if inputs.eligibility_summary else ""
    if inputs.eligibility_valid is None:
        return f"Eligibility decision not recorded{where}."
    if not inputs.eligibility_valid:
        return f"Eligibility decision is not valid{where}: screen again or ask the prescriber."
    if inputs.eligibility_valid_until is not None and inputs.eligibility_valid_until < at:
        return (
            f"Eligibility decision expired on {inputs.eligibility_valid_until.date().isoformat()}"
            f"{where}: screen again."
        )
    return None


def _dose_problem(inputs: PredoseInputs) -> str | None:
    if inputs.dose_problem is not None:
        return inputs.dose_problem
    if inputs.planned_dose_mg is None:
        return "No planned dose: the session is not linked to a signed plan."
    maximum = inputs.max_dose_mg
    if (
        maximum is not None
        and inputs.planned_dose_mg > maximum
        and not inputs.dose_override_recorded
    ):
        return (
            f"Planned dose {inputs.planned_dose_mg:g} mg exceeds the limit {maximum:g} mg "
            "and no prescriber override is recorded."
        )
    return None


def _eligibility(inputs: PredoseInputs, at: datetime) -> _Outcome:
    """Every problem at once (the screening and the plan are fixed by different people)."""
    problems = [p for p in (_eligibility_problem(inputs, at), _dose_problem(inputs)) if p]
    if problems:
        return F, " ".join(problems)
    planned = inputs.planned_dose_mg
    assert planned is not None  # _dose_problem checked it
    if inputs.max_dose_mg is None:
        limit = "no maximum dose is configured for this protocol (the clinic sets one)"
    elif planned > inputs.max_dose_mg:
        limit = f"above the limit {inputs.max_dose_mg:g} mg with a prescriber's override"
    else:
        limit = f"within the limit {inputs.max_dose_mg:g} mg"
    where = f" ({inputs.eligibility_summary})" if inputs.eligibility_summary else ""
    plan = f" ({inputs.dose_summary})" if inputs.dose_summary else ""
    return P, f"Eligibility valid{where}. Planned dose {planned:g} mg{plan}, {limit}."


def evaluate_predose(
    kind: ProtocolKind,
    inputs: PredoseInputs,
    policy: EffectivePolicy,
    *,
    at: datetime,
    decisions: Mapping[str, ClinicianDecision] | None = None,
) -> PredoseResult:
    """Every pre-dose check for ``kind`` at time ``at``, with the baseline's alerts."""
    if at.tzinfo is None:
        raise InvalidInput("The time of the pre-dose check needs a time zone.", field="at")
    if policy.protocol_kind is not kind:
        raise InvalidInput(
            f"The policy is for {policy.protocol_kind.value}, the session is {kind.value}.",
            field="protocol_kind",
        )
    decisions = dict(decisions or {})
    # Against itself as baseline: only absolute rules (SpO2, screens, thresholds) can fire here.
    alerts = evaluate_alerts(inputs.baseline, inputs.baseline, policy, observed_at=at)
    evaluators: dict[str, Callable[[], _Outcome]] = {
        "consent-current": lambda: _yes(inputs.consent_current, "Consent current"),
        "rems-patient-enrolled": lambda: _yes(
            inputs.rems_enrolled, "SPRAVATO REMS patient enrolment on record"
        ),
        "identity-confirmed": lambda: _yes(inputs.identity_confirmed, "Identity confirmed"),
        "fasting": lambda: _fasting(inputs, policy, at),
        "escort-and-transport": lambda: _escort(inputs),
        "pregnancy-status": lambda: _pregnancy(inputs),
        "baseline-vitals": lambda: _baseline(inputs),
        "suicide-screen": lambda: _suicide_screen(inputs, alerts),
        "blood-pressure-gate": lambda: _bp_gate(inputs, policy),
        "eligibility-and-dose": lambda: _eligibility(inputs, at),
    }
    checks = predose_checks(kind)
    unknown = sorted(set(decisions) - {c.id for c in checks})
    if unknown:
        raise InvalidInput(f"No pre-dose check named {', '.join(unknown)}.", field="decisions")
    items: list[PredoseItem] = []
    for check in checks:
        status, message = evaluators[check.id]()
        decision = decisions.get(check.id)
        if status is CheckStatus.NEEDS_DECISION and decision is not None:
            status = CheckStatus.DECIDED
            message = f"{message} Decision by {decision.by}: {decision.note}"
        items.append(
            PredoseItem(
                id=check.id,
                title=check.title,
                status=status,
                message=message,
                source=check.source,
                decision=decision if status is CheckStatus.DECIDED else None,
            )
        )
    return PredoseResult(protocol_kind=kind, evaluated_at=at, items=items, alerts=alerts)
