"""The one scoring engine: every instrument is data, scored here by the same rules.

Order of work: validate every answer (nothing partial is ever returned), apply reverse scoring,
collapse domains to their maximum, add the units to a total, find the band, then evaluate alert
rules and outcome rules (cluster, triage, threshold) from the instrument file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ketaclinic.clinical.questionnaires.answers import Answers, validated_answers
from ketaclinic.clinical.questionnaires.loader import get_instrument
from ketaclinic.clinical.questionnaires.models import (
    AlertRule,
    AlertText,
    Band,
    ClusterRule,
    Condition,
    ConfigurableCutoff,
    Instrument,
    ThresholdRule,
    TriageRule,
    compare,
)
from ketaclinic.clinical.questionnaires.results import Alert, ScoreResult, ScoringSettings
from ketaclinic.errors import InvalidInput

__all__ = ["Answers", "score", "score_instrument"]


def score(
    instrument_id: str,
    answers: Answers,
    *,
    cutoffs: Mapping[str, float | None] | None = None,
    baseline_total: float | None = None,
    band_set: str | None = None,
) -> ScoreResult:
    """Score one completed form.

    ``answers``: item values in published order, or a mapping keyed by item id (or item number as
    a string). ``cutoffs``: a clinic's choice for a rule whose cut-off sources disagree, keyed by
    rule id; only the cited choices are accepted. ``baseline_total``: the pre-dose total, for rules
    that need a rise over baseline (CADSS dissociation per the esketamine label). ``band_set``:
    a cited alternative set of severity bands where sources disagree (default: the first cited).
    """
    return score_instrument(
        get_instrument(instrument_id),
        answers,
        cutoffs=cutoffs,
        baseline_total=baseline_total,
        band_set=band_set,
    )


def score_instrument(
    instrument: Instrument,
    answers: Answers,
    *,
    cutoffs: Mapping[str, float | None] | None = None,
    baseline_total: float | None = None,
    band_set: str | None = None,
) -> ScoreResult:
    """:func:`score` for an instrument definition given as an object (for example one being
    validated before it is added to the data folder)."""
    values = validated_answers(instrument, answers)
    scored = _apply_reverse(instrument, values)
    total, domain_scores = _total(instrument, scored)
    subscales: dict[str, int] = dict(domain_scores)
    for subscale in instrument.scoring.subscales:
        subscales[subscale.id] = sum(scored[item_id] for item_id in subscale.items)
    band = next(
        (b for b in _bands(instrument, band_set) if b.min_total <= total <= b.max_total), None
    )

    alerts = [_alert(rule) for rule in instrument.alerts if _holds(rule.when, total, values)]
    extras: dict[str, Any] = {}
    chosen = dict(cutoffs or {})
    applied_cutoffs: dict[str, float | None] = {}
    for rule in instrument.rules:
        override = _cutoff_override(instrument, rule.id, chosen)
        configurable = _rule_cutoff(rule)
        if configurable is not None:
            overridden, value = override
            applied_cutoffs[rule.id] = value if overridden else configurable.default
        if isinstance(rule, ClusterRule):
            met, by_cluster = _cluster(rule, values, total, override)
            extras[rule.id] = met
            extras[f"{rule.id}_clusters"] = by_cluster
        elif isinstance(rule, TriageRule):
            level_id, level_alert = _triage(rule, total, values)
            extras[rule.id] = level_id
            if level_alert is not None:
                alerts.append(level_alert)
        else:
            extras[rule.id] = _threshold(rule, total, baseline_total, override)
    unknown_rules = sorted(set(chosen) - {rule.id for rule in instrument.rules})
    if unknown_rules:
        raise InvalidInput(
            f"{instrument.short_name} has no configurable rule {unknown_rules[0]!r}.",
            field="cutoffs",
        )
    return ScoreResult(
        instrument=instrument.id,
        version=instrument.version,
        total=total,
        severity=band.id if band else None,
        severity_label=band.label if band else None,
        alerts=alerts,
        subscales=dict(subscales),
        item_answers=dict(values),
        extras=extras,
        # Everything besides the answers that shaped this result, so a stored score can be
        # re-derived exactly: score(id, item_answers, **settings.as_arguments()).
        settings=ScoringSettings(
            cutoffs=applied_cutoffs, band_set=band_set, baseline_total=baseline_total
        ),
    )


def _bands(instrument: Instrument, band_set: str | None) -> tuple[Band, ...]:
    try:
        return instrument.bands_for(band_set)
    except KeyError:
        known = ", ".join(alt.id for alt in instrument.alternative_band_sets) or "none"
        raise InvalidInput(
            f"{instrument.short_name} has no band set {band_set!r}; alternatives: {known}.",
            field="band_set",
        ) from None


def _apply_reverse(instrument: Instrument, values: dict[str, int]) -> dict[str, int]:
    scored = dict(values)
    for item_id in instrument.scoring.reverse_items:
        item = instrument.item(item_id)
        scored[item_id] = item.min_value + item.max_value - values[item_id]
    return scored


def _total(instrument: Instrument, scored: dict[str, int]) -> tuple[int, dict[str, int]]:
    domain_scores = {
        domain.id: max(scored[item_id] for item_id in domain.items)
        for domain in instrument.scoring.domains
    }
    in_domain = {item_id for domain in instrument.scoring.domains for item_id in domain.items}
    loose = sum(value for item_id, value in scored.items() if item_id not in in_domain)
    return loose + sum(domain_scores.values()), domain_scores


def _holds(condition: Condition, total: int, values: Mapping[str, int]) -> bool:
    observed = values[condition.item_id] if condition.item_id else total
    return compare(observed, condition.op, condition.value)


def _alert(rule: AlertText) -> Alert:
    return Alert(
        id=rule.id,
        severity=rule.severity,
        message=rule.message,
        action=rule.action,
        item_id=rule.when.item_id if isinstance(rule, AlertRule) else None,
    )


def _cutoff_override(
    instrument: Instrument, rule_id: str, chosen: dict[str, float | None]
) -> tuple[bool, float | None]:
    """(overridden?, value); refuses a cut-off that no cited source gives."""
    if rule_id not in chosen:
        return False, None
    rule = next(r for r in instrument.rules if r.id == rule_id)
    cutoff = _rule_cutoff(rule)
    value = chosen[rule_id]
    if cutoff is None:
        raise InvalidInput(f"Rule {rule_id!r} has no configurable cut-off.", field="cutoffs")
    if value is not None and value not in cutoff.allowed:
        allowed = ", ".join(f"{v:g}" for v in cutoff.allowed)
        raise InvalidInput(
            f"Cut-off {value:g} for {rule_id!r} is not one of the cited values ({allowed}).",
            field="cutoffs",
        )
    return True, value


def _rule_cutoff(rule: ClusterRule | TriageRule | ThresholdRule) -> ConfigurableCutoff | None:
    if isinstance(rule, ClusterRule):
        return rule.total_cutoff
    if isinstance(rule, ThresholdRule):
        return rule.cutoff
    return None


def _cluster(
    rule: ClusterRule, values: Mapping[str, int], total: int, override: tuple[bool, float | None]
) -> tuple[bool, dict[str, bool]]:
    by_cluster = {
        cluster.id: sum(values[i] >= rule.item_threshold for i in cluster.items)
        >= cluster.min_items
        for cluster in rule.clusters
    }
    overridden, chosen = override
    cutoff = chosen if overridden else (rule.total_cutoff.default if rule.total_cutoff else None)
    meets_total = cutoff is None or total >= cutoff
    return all(by_cluster.values()) and meets_total, by_cluster


def _triage(
    rule: TriageRule, total: int, values: Mapping[str, int]
) -> tuple[str | None, Alert | None]:
    for level in rule.levels:
        if any(_holds(condition, total, values) for condition in level.any_of):
            return level.id, _alert(level.alert) if level.alert else None
    return rule.default_level, None


def _threshold(
    rule: ThresholdRule,
    total: int,
    baseline_total: float | None,
    override: tuple[bool, float | None],
) -> bool | None:
    overridden, chosen = override
    cutoff = chosen if overridden else rule.cutoff.default
    if cutoff is None:
        return None
    above = compare(total, rule.op, cutoff)
    if not rule.requires_rise_over_baseline:
        return above
    # Without the pre-dose total the label's definition cannot be decided; say so with None.
    if baseline_total is None:
        return None
    return above and total > baseline_total
