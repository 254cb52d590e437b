"""Typed models of a rating instrument as data: items, scoring, bands, alerts and outcome rules.

An instrument file under ``clinical/data/instruments/`` is validated against :class:`Instrument`
at first use, so a typo in an item id or a gap between severity bands fails at start-up instead
of mis-scoring a patient. The generic engine (``engine.py``) is the only code that scores.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ketaclinic.clinical.knowledge import Source

Comparison = Literal[">=", ">", "==", "<=", "<"]

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "==": operator.eq,
    "<=": operator.le,
    "<": operator.lt,
}


# Rule results appear beside these fields in ScoreResult.to_json(), so no rule may use them.
RESERVED_RESULT_KEYS = frozenset(
    {"instrument", "version", "total", "severity", "severity_label", "alerts", "subscales"}
    | {"item_answers", "scoring_settings"}
)


def compare(left: float, op: Comparison, right: float) -> bool:
    return _COMPARE[op](left, right)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AnswerOption(_Frozen):
    value: int
    label: str


class Condition(_Frozen):
    """``item_id`` compared with ``value``; without an item, the total is compared."""

    item_id: str | None = None
    op: Comparison
    value: float


class Item(_Frozen):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    number: int = Field(ge=1)
    label: str = Field(description="Short name of the item; always shipped.")
    # Null where the licence does not let us ship the verbatim wording (see Instrument.licence).
    text: str | None = None
    min_value: int
    max_value: int
    # Empty means every integer from min_value to max_value, labelled by its number.
    options: tuple[AnswerOption, ...] = ()
    loinc: str | None = None
    # The form's skip logic: the item is asked only when this condition on an earlier item holds;
    # otherwise its answer must be its lowest value (e.g. C-SSRS "in the past 3 months?" only
    # after a yes to lifetime behaviour).
    asked_only_if: Condition | None = None

    @model_validator(mode="after")
    def _check_range(self) -> Item:
        if self.min_value > self.max_value:
            raise ValueError(f"item {self.id}: min_value above max_value")
        for option in self.options:
            if not self.min_value <= option.value <= self.max_value:
                raise ValueError(f"item {self.id}: option {option.value} outside its range")
        return self

    @property
    def allowed_values(self) -> tuple[int, ...]:
        if self.options:
            return tuple(option.value for option in self.options)
        return tuple(range(self.min_value, self.max_value + 1))

    def describe_allowed(self) -> str:
        values = self.allowed_values
        contiguous = values == tuple(range(values[0], values[-1] + 1))
        if contiguous and len(values) > 2:
            return f"a whole number from {values[0]} to {values[-1]}"
        return "one of " + ", ".join(str(v) for v in values)


class Domain(_Frozen):
    """Items counted as one unit of the total, e.g. QIDS-SR16 sleep = the highest of items 1-4."""

    id: str
    label: str
    items: tuple[str, ...] = Field(min_length=2)
    combine: Literal["max"] = "max"


class Subscale(_Frozen):
    id: str
    label: str
    items: tuple[str, ...] = Field(min_length=1)


class Scoring(_Frozen):
    method: Literal["sum"] = "sum"
    reverse_items: tuple[str, ...] = ()
    domains: tuple[Domain, ...] = ()
    subscales: tuple[Subscale, ...] = ()
    note: str | None = None


class Band(_Frozen):
    id: str
    label: str
    min_total: int
    max_total: int
    source: Source | None = None


class BandSet(_Frozen):
    """A cited alternative to an instrument's default bands, for where sources disagree."""

    id: str
    label: str
    bands: tuple[Band, ...] = Field(min_length=1)
    source: Source


class AlertText(_Frozen):
    """An alert raised by a triage level: the level itself is the condition."""

    id: str
    severity: Literal["info", "warning", "critical"]
    message: str
    action: str
    source: Source | None = None


class AlertRule(AlertText):
    """An alert raised when ``when`` holds for an item answer or for the total."""

    when: Condition


class CutoffChoice(_Frozen):
    value: float
    source: Source


class ConfigurableCutoff(_Frozen):
    """A cut-off on which sources differ: the default plus each cited alternative a clinic may pick.

    ``default`` null means the cut-off is not applied unless a clinic chooses one.
    """

    default: float | None
    choices: tuple[CutoffChoice, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _default_is_a_choice(self) -> ConfigurableCutoff:
        if self.default is not None and self.default not in self.allowed:
            raise ValueError(f"default cut-off {self.default} is not one of the cited choices")
        return self

    @property
    def allowed(self) -> tuple[float, ...]:
        return tuple(choice.value for choice in self.choices)


class ClusterRequirement(_Frozen):
    id: str
    label: str
    items: tuple[str, ...] = Field(min_length=1)
    min_items: int = Field(ge=1)


class ClusterRule(_Frozen):
    """Met when each cluster has at least ``min_items`` items rated ``item_threshold`` or more
    (e.g. the PCL-5 DSM-5 rule), and the total reaches ``total_cutoff`` when one is chosen."""

    type: Literal["cluster"]
    id: str
    label: str
    item_threshold: float
    clusters: tuple[ClusterRequirement, ...] = Field(min_length=1)
    total_cutoff: ConfigurableCutoff | None = None
    source: Source


class TriageLevel(_Frozen):
    id: str
    label: str
    any_of: tuple[Condition, ...] = ()
    alert: AlertText | None = None


class TriageRule(_Frozen):
    """The first level (listed from most to least urgent) whose any-of conditions hold."""

    type: Literal["triage"]
    id: str
    label: str
    levels: tuple[TriageLevel, ...] = Field(min_length=1)
    default_level: str | None = Field(description="Level when no condition holds; null = none.")
    source: Source


class ThresholdRule(_Frozen):
    """Total compared with a (configurable) cut-off, optionally also requiring a rise over a
    baseline total (the esketamine label's dissociation: CADSS total > 4 and change > 0)."""

    type: Literal["threshold"]
    id: str
    label: str
    op: Literal[">", ">="]
    cutoff: ConfigurableCutoff
    requires_rise_over_baseline: bool = False
    source: Source


OutcomeRule = Annotated[ClusterRule | TriageRule | ThresholdRule, Field(discriminator="type")]


class Instrument(_Frozen):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    short_name: str
    version: str
    description: str
    administration: Literal["self-report", "clinician", "self-report or clinician"]
    recall_period: str | None = None
    source: Source
    licence: str = Field(description="What the licence allows us to ship, and what we left out.")
    text_shipped: bool
    loinc_panel: str | None = None
    loinc_total: str | None = None
    items: tuple[Item, ...] = Field(min_length=1)
    scoring: Scoring = Scoring()
    bands: tuple[Band, ...] = ()
    alternative_band_sets: tuple[BandSet, ...] = ()
    alerts: tuple[AlertRule, ...] = ()
    rules: tuple[OutcomeRule, ...] = ()
    interpretation_note: str | None = None

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(item.id for item in self.items)

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    def _unit_extremes(self) -> list[tuple[int, int]]:
        """(min, max) of each unit that adds to the total: a domain counts once, as its max."""
        in_domain = {item_id for domain in self.scoring.domains for item_id in domain.items}
        units = [
            (item.min_value, item.max_value) for item in self.items if item.id not in in_domain
        ]
        for domain in self.scoring.domains:
            members = [self.item(item_id) for item_id in domain.items]
            units.append((max(m.min_value for m in members), max(m.max_value for m in members)))
        return units

    @property
    def min_total(self) -> int:
        return sum(low for low, _ in self._unit_extremes())

    @property
    def max_total(self) -> int:
        return sum(high for _, high in self._unit_extremes())

    @model_validator(mode="after")
    def _check_consistency(self) -> Instrument:
        ids = self.item_ids
        if len(set(ids)) != len(ids):
            raise ValueError(f"{self.id}: duplicate item ids")
        if [item.number for item in self.items] != list(range(1, len(self.items) + 1)):
            raise ValueError(f"{self.id}: item numbers must run 1..n in published order")
        known = set(ids)
        referenced: list[str] = list(self.scoring.reverse_items)
        seen_in_domain: set[str] = set()
        for domain in self.scoring.domains:
            referenced += domain.items
            if seen_in_domain & set(domain.items):
                raise ValueError(f"{self.id}: an item belongs to two domains")
            seen_in_domain |= set(domain.items)
        for subscale in self.scoring.subscales:
            referenced += subscale.items
        for alert in self.alerts:
            referenced += [alert.when.item_id] if alert.when.item_id else []
        for rule in self.rules:
            if isinstance(rule, ClusterRule):
                referenced += [i for cluster in rule.clusters for i in cluster.items]
            elif isinstance(rule, TriageRule):
                referenced += [c.item_id for lvl in rule.levels for c in lvl.any_of if c.item_id]
        for position, item in enumerate(self.items):
            gate = item.asked_only_if
            if gate is not None and gate.item_id not in ids[:position]:
                raise ValueError(f"{self.id}: item {item.id} must depend on an earlier item")
        unknown = sorted(set(referenced) - known)
        if unknown:
            raise ValueError(f"{self.id}: rules refer to unknown items {unknown}")
        self._check_bands()
        self._check_result_keys()
        return self

    @property
    def result_keys(self) -> tuple[str, ...]:
        """The extras keys this instrument's rules add to a ScoreResult."""
        keys: list[str] = []
        for rule in self.rules:
            keys.append(rule.id)
            if isinstance(rule, ClusterRule):
                keys.append(f"{rule.id}_clusters")
        return tuple(keys)

    def _check_result_keys(self) -> None:
        keys = self.result_keys
        clashes = sorted(set(keys) & RESERVED_RESULT_KEYS)
        if clashes or len(set(keys)) != len(keys):
            raise ValueError(f"{self.id}: rule ids must be unique and not reuse {clashes or keys}")

    def bands_for(self, band_set: str | None) -> tuple[Band, ...]:
        """The default bands, or a cited alternative set by id (KeyError if unknown)."""
        if band_set is None:
            return self.bands
        for alternative in self.alternative_band_sets:
            if alternative.id == band_set:
                return alternative.bands
        raise KeyError(band_set)

    def _check_bands(self) -> None:
        if self.alternative_band_sets and not self.bands:
            raise ValueError(f"{self.id}: alternative band sets need a default set")
        for bands in (self.bands, *(alt.bands for alt in self.alternative_band_sets)):
            self._check_band_cover(bands)

    def _check_band_cover(self, bands: tuple[Band, ...]) -> None:
        if not bands:
            return
        if bands[0].min_total != self.min_total or bands[-1].max_total != self.max_total:
            raise ValueError(f"{self.id}: bands must cover {self.min_total}..{self.max_total}")
        for lower, upper in pairwise(bands):
            if upper.min_total != lower.max_total + 1:
                raise ValueError(
                    f"{self.id}: gap or overlap between bands {lower.id} and {upper.id}"
                )
