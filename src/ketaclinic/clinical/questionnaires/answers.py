"""Checking a completed form before scoring: every problem is found and reported at once.

A nurse correcting a paper form wants the whole list (item 1 out of range, item 2 missing), not one
problem per attempt, so the checks below collect every problem and raise one
:class:`InvalidAnswers` naming each item and its allowed values. Nothing partial is ever scored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ketaclinic.clinical.questionnaires.models import Instrument, Item, compare
from ketaclinic.errors import InvalidInput

Answers = Sequence[int | float] | Mapping[str, int | float]

_OP_WORDS = {"==": "answered", ">=": "at least", ">": "above", "<=": "at most", "<": "below"}


class InvalidAnswers(InvalidInput):
    """Refused answers: ``problems`` maps each field (an item id, a key that matches no item, or
    ``answers``) to what is wrong with it, in the form's order; ``field`` is the first one.

    With several problems the message is ``field: text`` parts joined by ``"; "`` so a page can put
    each beside its field; no single problem's text contains ``"; "``.
    """

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        if len(self.problems) == 1:
            message = next(iter(self.problems.values()))
        else:
            message = "; ".join(f"{field}: {text}" for field, text in self.problems.items())
        super().__init__(message, field=next(iter(self.problems)))


def validated_answers(instrument: Instrument, answers: Answers) -> dict[str, int]:
    """Every item's whole-number answer keyed by item id, in published order; or InvalidAnswers
    listing every missing, unknown, duplicated, out-of-range or skip-logic-breaking answer."""
    problems: dict[str, str] = {}
    if isinstance(answers, Mapping):
        keyed, extra = _from_mapping(instrument, answers, problems)
    elif isinstance(answers, Sequence) and not isinstance(answers, str | bytes):
        keyed, extra = _from_sequence(instrument, answers, problems)
    else:
        raise InvalidInput(
            f"{instrument.short_name} answers must be a list in published item order or an "
            "object keyed by item id.",
            field="answers",
        )
    values: dict[str, int] = {}
    for item in instrument.items:
        if item.id in problems:
            continue
        if item.id not in keyed:
            problems[item.id] = (
                f"{instrument.short_name} item {item.number} ({item.id}, {item.label}) is "
                f"missing: enter {item.describe_allowed()}."
            )
            continue
        value = _whole_allowed(item, keyed[item.id])
        if value is None:
            problems[item.id] = (
                f"{instrument.short_name} item {item.number} ({item.id}, {item.label}): "
                f"{keyed[item.id]!r} is not allowed, enter {item.describe_allowed()}."
            )
        else:
            values[item.id] = value
    problems.update(_skip_logic_problems(instrument, values))
    # Items first, in the form's order, then answers that match no item.
    ordered = {item.id: problems[item.id] for item in instrument.items if item.id in problems}
    ordered.update(extra)
    if ordered:
        raise InvalidAnswers(ordered)
    return values


def _from_sequence(
    instrument: Instrument, answers: Sequence[Any], problems: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    count = len(instrument.items)
    extra: dict[str, str] = {}
    if len(answers) < count:
        first_missing = instrument.items[len(answers)]
        problems[first_missing.id] = (
            f"{instrument.short_name} needs {count} answers, {len(answers)} were given: "
            f"item {first_missing.number} ({first_missing.id}, {first_missing.label}) is "
            f"missing, enter {first_missing.describe_allowed()}."
        )
    elif len(answers) > count:
        extra["answers"] = (
            f"{instrument.short_name} has {count} items, but {len(answers)} answers were given: "
            f"answer {count + 1} matches no item."
        )
    return {item.id: value for item, value in zip(instrument.items, answers, strict=False)}, extra


def _from_mapping(
    instrument: Instrument, answers: Mapping[Any, Any], problems: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    by_key = {item.id: item for item in instrument.items}
    by_key.update({str(item.number): item for item in instrument.items})
    keyed: dict[str, Any] = {}
    extra: dict[str, str] = {}
    for key, value in answers.items():
        item = by_key.get(str(key))
        if item is None:
            extra[str(key)] = (
                f"{instrument.short_name} has no item {key!r}, its items are "
                f"{', '.join(instrument.item_ids)}."
            )
        elif item.id in keyed:
            problems[item.id] = (
                f"Item {item.number} ({item.id}) of {instrument.short_name} was answered twice."
            )
        else:
            keyed[item.id] = value
    return keyed, extra


def _whole_allowed(item: Item, raw: Any) -> int | None:
    number: int | None = None
    # bool is an int in Python; a tick box must still be entered as 0 or 1.
    if isinstance(raw, int) and not isinstance(raw, bool):
        number = raw
    elif isinstance(raw, float) and math.isfinite(raw) and raw.is_integer():
        number = int(raw)
    return number if number is not None and number in item.allowed_values else None


def _skip_logic_problems(instrument: Instrument, values: Mapping[str, int]) -> dict[str, str]:
    """Items answered although the form would not ask them (their gate's answer rules them out);
    such an item must be entered as its lowest value."""
    problems: dict[str, str] = {}
    for item in instrument.items:
        gate = item.asked_only_if
        if gate is None or gate.item_id is None:
            continue
        if gate.item_id not in values or item.id not in values:
            continue  # already reported as missing or out of range
        if not compare(values[gate.item_id], gate.op, gate.value) and (
            values[item.id] != item.min_value
        ):
            source = instrument.item(gate.item_id)
            problems[item.id] = (
                f"{instrument.short_name} item {item.number} ({item.id}, {item.label}) is asked "
                f"only when item {source.number} ({source.label}) is "
                f"{_OP_WORDS[gate.op]} {gate.value:g}: with the answer given to item "
                f"{source.number}, enter {item.min_value} for it."
            )
    return problems
