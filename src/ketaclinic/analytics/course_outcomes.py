"""Per-course outcomes as Ibis expressions: baseline, timepoints, response, remission, relapse.

The rules are the ones ``ketaclinic.clinical.outcomes`` applies to one patient's chart (read
through ``outcome_rules``), turned into column expressions, so a cohort query and a chart agree on
what "response" means. Baseline is the last score on or before day 0, as that module's default.

Timepoint windows are analysis choices, stated here once:
- 24 hours: the score on day 1 (the day after the first session);
- end of induction: the first score 1 to 7 days after the last induction session;
- weeks 4 and 8: the score nearest day 28 or 56, within 3 days either side.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import ibis
import ibis.expr.types as ir

from ketaclinic.clinical.evidence import Timepoint
from ketaclinic.clinical.outcomes import (
    OutcomePolicy,
    OutcomeRules,
    RelapseOption,
    outcome_rules,
    relapse_definition,
    remission_cutoff,
)
from ketaclinic.errors import NotFound

KEYS = ("course_key", "instrument")
END_WINDOW_DAYS = 7
WEEK_WINDOW_DAYS = 3
CLINIC_TIMEPOINTS = (
    Timepoint.HOURS_24,
    Timepoint.END_OF_INDUCTION,
    Timepoint.WEEK_4,
    Timepoint.WEEK_8,
)

_COMPARE: dict[str, Callable[[ir.NumericValue, float], ir.BooleanValue]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
}


def rules_for(instruments: Iterable[str]) -> dict[str, OutcomeRules]:
    """Outcome rules of the instruments that have them (others have no response to count)."""
    found: dict[str, OutcomeRules] = {}
    for instrument in sorted(set(instruments)):
        try:
            found[instrument] = outcome_rules(instrument)
        except NotFound:
            continue
    return found


def _per_instrument(
    instrument: ir.StringValue, flags: dict[str, ir.BooleanValue]
) -> ir.BooleanValue:
    if not flags:
        return ibis.literal(False)
    cases = [(instrument == name, flag) for name, flag in flags.items()]
    return ibis.cases(*cases, else_=False)


def is_response(
    rules: dict[str, OutcomeRules],
    instrument: ir.StringValue,
    baseline: ir.NumericValue,
    total: ir.NumericValue,
) -> ir.BooleanValue:
    flags: dict[str, ir.BooleanValue] = {}
    for name, rule in rules.items():
        reduction = baseline - total
        if rule.response.type == "absolute_reduction":
            flags[name] = reduction >= rule.response.value
        else:
            # Cross-multiplied as the per-patient engine does, so exactly 50% counts.
            flags[name] = (baseline > 0) & (reduction * 100 >= baseline * rule.response.value)
    return _per_instrument(instrument, flags)


def is_remission(
    rules: dict[str, OutcomeRules],
    instrument: ir.StringValue,
    total: ir.NumericValue,
    policy: OutcomePolicy | None = None,
) -> ir.BooleanValue:
    flags: dict[str, ir.BooleanValue] = {}
    for name in rules:
        # The clinic's remission choice per instrument (the data file's default without one).
        cutoff = remission_cutoff(name, policy)
        flags[name] = _COMPARE[cutoff.op](total, cutoff.value)
    return _per_instrument(instrument, flags)


def assessments(
    scores: ir.Table, rules: dict[str, OutcomeRules], policy: OutcomePolicy | None = None
) -> ir.Table:
    """Every post-baseline score with its baseline and response/remission flags (remission as
    ``policy`` chooses per instrument; the baseline is always the last score on or before day 0)."""
    scored = scores.filter(scores.instrument.isin(list(rules)))
    before = scored.filter(scored.day <= 0)
    latest_first = ibis.window(group_by=list(KEYS), order_by=ibis.desc("day"))
    baseline = (
        before.mutate(rank=ibis.row_number().over(latest_first))
        .filter(lambda t: t.rank == 0)
        .select(*KEYS, baseline_day="day", baseline_total="total")
    )
    joined = scored.join(baseline, list(KEYS))
    after = joined.filter(joined.day > joined.baseline_day)
    return after.mutate(
        response=is_response(rules, after.instrument, after.baseline_total, after.total),
        remission=is_remission(rules, after.instrument, after.total, policy),
        change=after.total - after.baseline_total,
    )


def timepoint_outcomes(post: ir.Table, courses: ir.Table, worsening_min_rise: float) -> ir.Table:
    """One row per course, instrument and clinic timepoint that has a score in its window."""
    with_end = post.join(courses.select("course_key", "induction_end_day"), "course_key")
    day, end = with_end.day, with_end.induction_end_day
    windows: list[tuple[Timepoint, ir.BooleanValue, ir.NumericValue]] = [
        (Timepoint.HOURS_24, day == 1, ibis.literal(0)),
        (
            Timepoint.END_OF_INDUCTION,
            (day > end) & (day <= end + END_WINDOW_DAYS),
            day - end,
        ),
        (Timepoint.WEEK_4, (day - 28).abs() <= WEEK_WINDOW_DAYS, (day - 28).abs()),
        (Timepoint.WEEK_8, (day - 56).abs() <= WEEK_WINDOW_DAYS, (day - 56).abs()),
    ]
    parts = [
        with_end.filter(condition).mutate(
            timepoint=ibis.literal(timepoint.value), distance=distance.cast("int64")
        )
        for timepoint, condition, distance in windows
    ]
    candidates = ibis.union(*parts, distinct=False)
    nearest = ibis.window(
        group_by=[*KEYS, "timepoint"], order_by=[candidates.distance, candidates.day]
    )
    ranked = candidates.mutate(rank=ibis.row_number().over(nearest))
    chosen = ranked.filter(ranked.rank == 0)
    return chosen.select(
        *KEYS,
        "timepoint",
        "day",
        "response",
        "remission",
        worsened=chosen.change > worsening_min_rise,
    )


def _relapse_rows(
    after: ir.Table, rule: RelapseOption, rules: dict[str, OutcomeRules], name: str
) -> ir.Table:
    """Rows of one instrument's post-response scores that complete a relapse run."""
    if rule.type == "loss_of_response":
        hit = ~after.response
    else:
        assert rule.op is not None
        assert rule.value is not None
        hit = _COMPARE[rule.op](after.total, rule.value)
    ordered = ibis.window(group_by=list(KEYS), order_by="day")
    gap = after.day - after.day.lag().over(ordered)
    gap_ok = ibis.literal(True)
    if rule.min_days_apart is not None:
        gap_ok = gap_ok & (gap >= rule.min_days_apart)
    if rule.max_days_apart is not None:
        gap_ok = gap_ok & (gap <= rule.max_days_apart)
    c = rule.consecutive
    run = ibis.window(group_by=list(KEYS), order_by="day", preceding=c - 1, following=0)
    flagged = after.mutate(hit=hit.cast("int64"), gap_ok=gap_ok.fill_null(True).cast("int64"))
    flagged = flagged.mutate(hits_in_run=flagged.hit.sum().over(run))
    if c > 1:
        inner = ibis.window(group_by=list(KEYS), order_by="day", preceding=c - 2, following=0)
        flagged = flagged.mutate(gaps_in_run=flagged.gap_ok.sum().over(inner))
        complete = (flagged.hits_in_run == c) & (flagged.gaps_in_run == c - 1)
    else:
        complete = flagged.hits_in_run == 1
    return flagged.filter(complete).select(*KEYS, day=flagged.day)


def durability_inputs(
    post: ir.Table, rules: dict[str, OutcomeRules], policy: OutcomePolicy | None = None
) -> ir.Table:
    """Per responding course: first response day, relapse day (null if none) and last score day."""
    first = (
        post.filter(post.response)
        .group_by(list(KEYS))
        .aggregate(first_response_day=lambda t: t.day.min())
    )
    last = post.group_by(list(KEYS)).aggregate(last_day=lambda t: t.day.max())
    joined = post.join(first, list(KEYS))
    after = joined.filter(joined.day > joined.first_response_day)
    relapse_parts = [
        _relapse_rows(
            after.filter(after.instrument == name), relapse_definition(name, policy), rules, name
        )
        for name in rules
    ]
    responders = first.join(last, list(KEYS))
    if not relapse_parts:
        # No instrument with rules in the data: no responders either, but the shape stays.
        base = responders.mutate(relapse_day=ibis.null("int64"))
        return base.select(
            "course_key", "instrument", "first_response_day", "relapse_day", "last_day"
        )
    relapses = (
        ibis.union(*relapse_parts, distinct=False)
        .group_by(list(KEYS))
        .aggregate(relapse_day=lambda t: t.day.min())
    )
    base = responders.left_join(relapses, list(KEYS))
    return base.select(
        base.course_key,
        base.instrument,
        base.first_response_day,
        base.relapse_day,
        base.last_day,
    )
