"""Safety across a course: bladder symptoms, misuse and dependence signals, suicide screens.

Slow harms do not show in one session. The bladder screen runs on a schedule during maintenance
(the label asks to monitor urinary symptoms and refer as needed); a new or worse symptom raises a
flag and a referral task. Misuse signals (candidates from the reference, not validated) raise flags
for the prescriber. A positive PHQ-9 item 9 or C-SSRS screener creates a same-day risk-assessment
task for the responsible clinician. "Same day" is the calendar day in the time zone of the given
time, so services pass clinic-local aware datetimes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ketaclinic.clinical.knowledge import Source, load_knowledge
from ketaclinic.clinical.policy import EffectivePolicy
from ketaclinic.clinical.safety.tasks import Flag, FlagKind, Task, TaskKind, days_later, end_of_day
from ketaclinic.clinical.sessions.alerts import CSSRS_RISK_LEVELS, alert_rules
from ketaclinic.errors import InvalidInput

CoursePhase = Literal["induction", "maintenance", "completed"]


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    label: str
    source: Source
    red_flag: bool = False


class _SurveillanceFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    bladder_symptoms: list[_Item]
    misuse_signals: list[_Item]


def _data() -> _SurveillanceFile:
    return load_knowledge("ketaclinic.clinical", "surveillance.yaml", _SurveillanceFile)


def bladder_symptoms() -> dict[str, _Item]:
    return {s.id: s for s in _data().bladder_symptoms}


def misuse_signal_kinds() -> dict[str, _Item]:
    return {s.id: s for s in _data().misuse_signals}


class BladderScreen(BaseModel):
    model_config = ConfigDict(frozen=True)
    taken_at: datetime
    symptoms: frozenset[str] = frozenset()


class SurveillanceOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)
    flags: list[Flag] = Field(default_factory=list)
    tasks: list[Task] = Field(default_factory=list)


def _check_symptoms(screen: BladderScreen) -> None:
    known = bladder_symptoms()
    unknown = sorted(screen.symptoms - set(known))
    if unknown:
        raise InvalidInput(
            f"Unknown bladder symptom(s) {', '.join(unknown)}; allowed: {', '.join(known)}.",
            field="symptoms",
        )


def bladder_screen_due(
    phase: CoursePhase,
    last_screen_at: datetime | None,
    policy: EffectivePolicy,
    *,
    now: datetime,
    maintenance_started_at: datetime | None = None,
) -> datetime | None:
    """When the next bladder screen is due (None outside maintenance). Overdue if before ``now``."""
    if phase != "maintenance":
        return None
    interval = timedelta(days=policy.number("bladder_screen_interval_days"))
    if last_screen_at is not None:
        return last_screen_at + interval
    # Never screened in maintenance: due at its start, or now if the start is not known.
    return maintenance_started_at or now


def evaluate_bladder_screen(
    patient_id: str,
    current: BladderScreen,
    previous: BladderScreen | None,
    policy: EffectivePolicy,
    *,
    prescriber: str | None = None,
    clinic_tz: tzinfo | None = None,
) -> SurveillanceOutcome:
    """A flag and a referral task when symptoms are new or worse than the previous screen.

    A same-day review ends with the clinic's day (``clinic_tz``, see ``tasks.end_of_day``)."""
    _check_symptoms(current)
    if previous is not None:
        _check_symptoms(previous)
        if previous.taken_at > current.taken_at:
            raise InvalidInput(
                "The previous screen is later than the current one.", field="previous"
            )
    known = bladder_symptoms()
    before = previous.symptoms if previous else frozenset()
    new = sorted(current.symptoms - before)
    red = sorted(s for s in current.symptoms if known[s].red_flag)
    if not new and not red:
        return SurveillanceOutcome()
    labels = ", ".join(known[s].label.lower() for s in (new or red))
    reason = f"Bladder screen worse: new {labels}." if new else f"Bladder red flag: {labels}."
    source = known[(new or red)[0]].source
    due_days = policy.number("bladder_referral_due_days")
    # A red-flag symptom (blood in the urine) is reviewed the same day, not within the usual window.
    due_at = (
        end_of_day(current.taken_at, clinic_tz) if red else days_later(current.taken_at, due_days)
    )
    flag = Flag(
        kind=FlagKind.BLADDER_WORSENING,
        patient_id=patient_id,
        raised_at=current.taken_at,
        reason=reason,
        source=source,
        for_role="prescriber",
        severity="urgent" if red else "warning",
    )
    task = Task(
        kind=TaskKind.BLADDER_REFERRAL,
        patient_id=patient_id,
        due_at=due_at,
        reason=reason + " Review (urinalysis) and refer to urology as needed.",
        source=policy.source("bladder_referral_due_days"),
        assignee_role="prescriber",
        assignee=prescriber,
    )
    return SurveillanceOutcome(flags=[flag], tasks=[task])


class MisuseSignal(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: str
    at: datetime
    detail: str = Field(min_length=3)
    recorded_by: str = Field(min_length=1)


def misuse_flags(
    patient_id: str,
    signals: Sequence[MisuseSignal],
    *,
    prescriber: str | None = None,
    clinic_tz: tzinfo | None = None,
) -> SurveillanceOutcome:
    """One prescriber flag per signal and one review task listing every signal, oldest first."""
    kinds = misuse_signal_kinds()
    for signal in signals:
        if signal.kind not in kinds:
            raise InvalidInput(
                f"Unknown misuse signal {signal.kind!r}; allowed: {', '.join(kinds)}.", field="kind"
            )
    if not signals:
        return SurveillanceOutcome()
    ordered = sorted(signals, key=lambda s: s.at)
    flags = [
        Flag(
            kind=FlagKind.MISUSE_SIGNAL,
            patient_id=patient_id,
            raised_at=s.at,
            reason=f"{kinds[s.kind].label}: {s.detail}",
            source=kinds[s.kind].source,
            for_role="prescriber",
        )
        for s in ordered
    ]
    summary = "; ".join(kinds[s.kind].label.lower() for s in ordered)
    task = Task(
        kind=TaskKind.PRESCRIBER_MISUSE_REVIEW,
        patient_id=patient_id,
        due_at=end_of_day(ordered[-1].at, clinic_tz),
        reason=f"Review possible misuse or dependence ({len(ordered)} signal(s): {summary}).",
        source=kinds[ordered[0].kind].source,
        assignee_role="prescriber",
        assignee=prescriber,
    )
    return SurveillanceOutcome(flags=flags, tasks=[task])


def suicide_screen_outcome(
    patient_id: str,
    *,
    screened_at: datetime,
    phq9_item9: int | None,
    cssrs_risk: str | None,
    policy: EffectivePolicy,
    responsible_clinician: str | None,
    clinic_tz: tzinfo | None = None,
) -> SurveillanceOutcome:
    """A same-day risk-assessment task (and a flag) for a positive PHQ-9 item 9 or C-SSRS; the
    task is due by the end of the clinic's day (``clinic_tz``)."""
    if cssrs_risk is not None and cssrs_risk not in CSSRS_RISK_LEVELS:
        raise InvalidInput(
            f"C-SSRS risk {cssrs_risk!r} is not one of {', '.join(CSSRS_RISK_LEVELS)}.",
            field="cssrs_risk",
        )
    if phq9_item9 is not None and not 0 <= phq9_item9 <= 3:
        raise InvalidInput("PHQ-9 item 9 is scored 0 to 3.", field="phq9_item9")
    reasons: list[str] = []
    item9_cut = policy.number("phq9_item9_positive_at_or_above")
    if phq9_item9 is not None and phq9_item9 >= item9_cut:
        reasons.append(f"PHQ-9 item 9 = {phq9_item9}")
    if cssrs_risk in ("low", "moderate", "high"):
        reasons.append(f"C-SSRS screener risk {cssrs_risk}")
    if not reasons:
        return SurveillanceOutcome()
    cssrs_positive = cssrs_risk in ("low", "moderate", "high")
    rules = {r.id: r for r in alert_rules()}
    source = (
        rules["suicide-screen-cssrs"].source
        if cssrs_positive
        else policy.source("phq9_item9_positive_at_or_above")
    )
    reason = "Positive suicide screen: " + "; ".join(reasons) + "."
    severity = "critical" if cssrs_risk == "high" else "urgent"
    return SurveillanceOutcome(
        flags=[
            Flag(
                kind=FlagKind.SUICIDE_SCREEN_POSITIVE,
                patient_id=patient_id,
                raised_at=screened_at,
                reason=reason,
                source=source,
                for_role="prescriber",
                severity=severity,
            )
        ],
        tasks=[
            Task(
                kind=TaskKind.SUICIDE_RISK_ASSESSMENT,
                patient_id=patient_id,
                due_at=end_of_day(screened_at, clinic_tz),
                reason=reason + " Same-day risk assessment by the responsible clinician.",
                source=source,
                assignee_role="prescriber",
                assignee=responsible_clinician,
            )
        ],
    )
