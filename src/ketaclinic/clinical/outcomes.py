"""Course outcomes from a series of scores: baseline, change, response, remission, relapse.

The rules and cut-offs live in ``clinical/data/outcomes.yaml`` with their sources; this module only
applies them. Analytics code reads the same numbers through :func:`outcome_rules`, so a cohort query
and a patient's chart never disagree about what "remission" means. Pure: days are relative to the
first treatment (day 0), passed in; nothing reads a clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ketaclinic.clinical.knowledge import Source, load_knowledge
from ketaclinic.clinical.questionnaires import get_instrument
from ketaclinic.clinical.questionnaires.models import Comparison, compare
from ketaclinic.errors import InvalidInput, NotFound

BaselineRule = Literal["last_on_or_before_start", "first_on_or_before_start", "first_recorded"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ResponseRule(_Frozen):
    """Response = a reduction from baseline of at least ``value`` percent or points."""

    type: Literal["percent_reduction", "absolute_reduction"]
    value: float = Field(gt=0)


class RemissionOption(_Frozen):
    id: str
    op: Comparison
    value: float
    source: Source


class RemissionRule(_Frozen):
    default: str
    options: tuple[RemissionOption, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _default_listed(self) -> RemissionRule:
        if self.default not in {o.id for o in self.options}:
            raise ValueError(f"default remission option {self.default!r} is not listed")
        return self


class RelapseOption(_Frozen):
    """``loss_of_response``: after a response, not meeting the response rule at ``consecutive``
    assessments in a row. ``threshold``: after a response, the total meets ``op value`` at
    ``consecutive`` assessments in a row, each gap within [min_days_apart, max_days_apart]."""

    id: str
    type: Literal["loss_of_response", "threshold"]
    consecutive: int = Field(ge=1)
    op: Comparison | None = None
    value: float | None = None
    min_days_apart: float | None = None
    max_days_apart: float | None = None
    source: Source

    @model_validator(mode="after")
    def _threshold_complete(self) -> RelapseOption:
        if self.type == "threshold" and (self.op is None or self.value is None):
            raise ValueError(f"relapse option {self.id}: a threshold needs op and value")
        return self


class RelapseRule(_Frozen):
    default: str
    options: tuple[RelapseOption, ...] = Field(min_length=1)


class OutcomeRules(_Frozen):
    """The outcome rules of one instrument, as data (also used by analytics queries)."""

    id: str
    response: ResponseRule
    source: Source
    remission: RemissionRule
    relapse: RelapseRule


class OutcomeDefaults(_Frozen):
    """Clinic-wide defaults: baseline choice and the minimum rise that counts as worsening."""

    baseline: BaselineRule
    baseline_source: Source
    worsening_min_rise_points: float = Field(ge=0)
    worsening_source: Source


class _OutcomesFile(_Frozen):
    defaults: OutcomeDefaults
    instruments: tuple[OutcomeRules, ...]


def _file() -> _OutcomesFile:
    return load_knowledge("ketaclinic.clinical", "outcomes.yaml", _OutcomesFile)


def outcome_rules(instrument_id: str) -> OutcomeRules:
    """Response, remission and relapse rules of an instrument; NotFound lists the covered ones."""
    for rules in _file().instruments:
        if rules.id == instrument_id:
            return rules
    known = ", ".join(r.id for r in _file().instruments)
    raise NotFound(
        f"No outcome rules for instrument {instrument_id!r}; outcome rules exist for: {known}.",
        field="instrument",
    )


def outcome_defaults() -> OutcomeDefaults:
    """Baseline rule and worsening threshold from the data file (for cohort queries too)."""
    return _file().defaults


def all_outcome_rules() -> tuple[OutcomeRules, ...]:
    """Every instrument's outcome rules, e.g. to build one cohort query over all scales."""
    return _file().instruments


@dataclass(frozen=True)
class OutcomePolicy:
    """A clinic's choices among the cited options; None (or an instrument left out of a mapping)
    keeps the data file's default. ``remission`` and ``relapse`` map an instrument id to the id of
    one of its options in outcomes.yaml, e.g. ``{"madrs": "le12"}`` for the esketamine trials'
    MADRS <= 12. The clinic's own choices come from ``services.outcome_policy``."""

    baseline: BaselineRule | None = None
    # Ignore pre-treatment scores older than this many days before day 0 (None = any age).
    baseline_max_days_before_start: float | None = None
    remission: Mapping[str, str] = field(default_factory=dict)
    relapse: Mapping[str, str] = field(default_factory=dict)
    worsening_min_rise_points: float | None = None


@dataclass(frozen=True)
class ScorePoint:
    day: float  # days relative to the first treatment (day 0); negative = before treatment
    total: float


@dataclass(frozen=True)
class PointOutcome:
    day: float
    total: float
    change: float | None  # total - baseline; negative = improvement
    percent_change: float | None
    is_response: bool
    is_remission: bool


@dataclass(frozen=True)
class CourseOutcome:
    instrument: str
    baseline: ScorePoint | None
    latest: ScorePoint | None
    absolute_change: float | None
    percent_change: float | None
    responded: bool  # met the response rule at any point after baseline
    remitted: bool  # the latest point meets the remission cut-off
    ever_remitted: bool
    day_of_first_response: float | None
    day_of_first_remission: float | None
    relapsed: bool
    day_of_relapse: float | None
    worsened: bool  # latest total above baseline by more than the policy's minimum rise
    points: tuple[PointOutcome, ...]
    # The rules applied (after the clinic's choices), so a page states the cut-off it judged by.
    remission_rule: RemissionOption
    relapse_rule: RelapseOption


def response_threshold(instrument_id: str) -> ResponseRule:
    return outcome_rules(instrument_id).response


def remission_cutoff(instrument_id: str, policy: OutcomePolicy | None = None) -> RemissionOption:
    rules = outcome_rules(instrument_id).remission
    wanted = (policy.remission.get(instrument_id) if policy else None) or rules.default
    for option in rules.options:
        if option.id == wanted:
            return option
    allowed = ", ".join(o.id for o in rules.options)
    raise InvalidInput(
        f"Remission option {wanted!r} is not cited for {instrument_id}; choose one of {allowed}.",
        field=f"remission.{instrument_id}",
    )


def relapse_definition(instrument_id: str, policy: OutcomePolicy | None = None) -> RelapseOption:
    rules = outcome_rules(instrument_id).relapse
    wanted = (policy.relapse.get(instrument_id) if policy else None) or rules.default
    for option in rules.options:
        if option.id == wanted:
            return option
    allowed = ", ".join(o.id for o in rules.options)
    raise InvalidInput(
        f"Relapse option {wanted!r} is not defined for {instrument_id}; choose one of {allowed}.",
        field=f"relapse.{instrument_id}",
    )


def is_response(rule: ResponseRule, baseline_total: float, total: float) -> bool:
    reduction = baseline_total - total
    if rule.type == "absolute_reduction":
        return reduction >= rule.value
    # A baseline of 0 cannot fall by a percentage; no response is possible from it.
    # Cross-multiplied so an exact 50% reduction is not lost to floating-point division.
    return baseline_total > 0 and reduction * 100 >= rule.value * baseline_total


def assess_course(
    instrument_id: str,
    points: Sequence[ScorePoint],
    *,
    policy: OutcomePolicy | None = None,
) -> CourseOutcome:
    """Outcomes of one patient's course on one instrument.

    With no usable baseline (no score on or before day 0 under the policy), change, response,
    remission and relapse cannot be judged: those fields are None/False and ``baseline`` is None,
    so cohort code can count such courses instead of failing on them.
    """
    policy = policy or OutcomePolicy()
    rules = outcome_rules(instrument_id)
    remission = remission_cutoff(instrument_id, policy)
    relapse_rule = relapse_definition(instrument_id, policy)
    ordered = _checked_points(instrument_id, points)
    baseline = _baseline(ordered, policy)
    latest = ordered[-1] if ordered else None
    if baseline is None or latest is None:
        return CourseOutcome(
            instrument=instrument_id, baseline=None, latest=latest, absolute_change=None,
            percent_change=None, responded=False, remitted=False, ever_remitted=False,
            day_of_first_response=None, day_of_first_remission=None, relapsed=False,
            day_of_relapse=None, worsened=False, points=(), remission_rule=remission,
            relapse_rule=relapse_rule,
        )  # fmt: skip

    # Only scores after both the baseline and the course start (day 0) can show a treatment effect;
    # an earlier pre-treatment score is context, never a "response".
    follow_up_after_day = max(baseline.day, 0.0)
    after = [p for p in ordered if p.day > follow_up_after_day]
    flagged = tuple(
        _point_outcome(p, baseline, rules.response, remission, follow_up_after_day) for p in ordered
    )
    follow_up = [f for f in flagged if f.day > follow_up_after_day]
    first_response = next((f.day for f in follow_up if f.is_response), None)
    first_remission = next((f.day for f in follow_up if f.is_remission), None)
    day_of_relapse = _relapse_day(follow_up, first_response, relapse_rule)
    min_rise = (
        policy.worsening_min_rise_points
        if policy.worsening_min_rise_points is not None
        else _file().defaults.worsening_min_rise_points
    )
    change = latest.total - baseline.total
    return CourseOutcome(
        instrument=instrument_id,
        baseline=baseline,
        latest=latest,
        absolute_change=change,
        percent_change=_percent(change, baseline.total),
        responded=first_response is not None,
        remitted=bool(after) and compare(latest.total, remission.op, remission.value),
        ever_remitted=first_remission is not None,
        day_of_first_response=first_response,
        day_of_first_remission=first_remission,
        relapsed=day_of_relapse is not None,
        day_of_relapse=day_of_relapse,
        worsened=bool(after) and change > min_rise,
        points=flagged,
        remission_rule=remission,
        relapse_rule=relapse_rule,
    )


def assess_trajectories(
    points_by_instrument: Mapping[str, Sequence[ScorePoint]],
    *,
    policy: OutcomePolicy | None = None,
) -> dict[str, CourseOutcome]:
    """One patient's course on each instrument that has outcome rules, keyed by instrument id."""
    return {
        instrument_id: assess_course(instrument_id, points, policy=policy)
        for instrument_id, points in points_by_instrument.items()
    }


def _checked_points(instrument_id: str, points: Sequence[ScorePoint]) -> list[ScorePoint]:
    instrument = get_instrument(instrument_id)
    for point in points:
        if not math.isfinite(point.day):
            raise InvalidInput(f"Score day {point.day!r} is not a number of days.", field="day")
        if not instrument.min_total <= point.total <= instrument.max_total:
            raise InvalidInput(
                f"{instrument.short_name} total {point.total:g} on day {point.day:g} is outside "
                f"{instrument.min_total}-{instrument.max_total}.",
                field="total",
            )
    return sorted(points, key=lambda p: p.day)


def _baseline(ordered: list[ScorePoint], policy: OutcomePolicy) -> ScorePoint | None:
    rule = policy.baseline or _file().defaults.baseline
    if rule == "first_recorded":
        return ordered[0] if ordered else None
    oldest_day = (
        -policy.baseline_max_days_before_start
        if policy.baseline_max_days_before_start is not None
        else -math.inf
    )
    before = [p for p in ordered if oldest_day <= p.day <= 0]
    if not before:
        return None
    return before[-1] if rule == "last_on_or_before_start" else before[0]


def _percent(change: float, baseline_total: float) -> float | None:
    return None if baseline_total == 0 else change / baseline_total * 100


def _point_outcome(
    point: ScorePoint,
    baseline: ScorePoint,
    response: ResponseRule,
    remission: RemissionOption,
    follow_up_after_day: float,
) -> PointOutcome:
    change = point.total - baseline.total
    follow_up = point.day > follow_up_after_day
    return PointOutcome(
        day=point.day,
        total=point.total,
        change=change,
        percent_change=_percent(change, baseline.total),
        is_response=follow_up and is_response(response, baseline.total, point.total),
        is_remission=follow_up and compare(point.total, remission.op, remission.value),
    )


def _relapse_day(
    follow_up: list[PointOutcome], first_response: float | None, rule: RelapseOption
) -> float | None:
    """Day of the assessment that completes the relapse run, or None."""
    if first_response is None:
        return None
    run: list[PointOutcome] = []
    for point in (p for p in follow_up if p.day > first_response):
        if rule.type == "loss_of_response":
            hit = not point.is_response
        else:
            # The model validator guarantees both for threshold rules.
            assert rule.op is not None
            assert rule.value is not None
            hit = compare(point.total, rule.op, rule.value)
        if hit and run and not _gap_ok(run[-1].day, point.day, rule):
            run = []
        run = [*run, point] if hit else []
        if len(run) >= rule.consecutive:
            return point.day
    return None


def _gap_ok(previous_day: float, day: float, rule: RelapseOption) -> bool:
    gap = day - previous_day
    too_close = rule.min_days_apart is not None and gap < rule.min_days_apart
    too_far = rule.max_days_apart is not None and gap > rule.max_days_apart
    return not (too_close or too_far)
