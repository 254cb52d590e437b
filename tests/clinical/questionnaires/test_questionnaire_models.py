"""The instrument model refuses inconsistent data files before anything is scored."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ketaclinic.clinical.questionnaires import Instrument
from ketaclinic.clinical.questionnaires.engine import score_instrument

SOURCE = {"citation": "Test source", "year": 2020}


def _instrument(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "demo",
        "name": "Demo",
        "short_name": "Demo",
        "version": "1",
        "description": "Three items",
        "administration": "self-report",
        "source": SOURCE,
        "licence": "test",
        "text_shipped": False,
        "items": [
            {"id": f"q{n}", "number": n, "label": f"Item {n}", "min_value": 0, "max_value": 3}
            for n in (1, 2, 3)
        ],
    }
    base.update(overrides)
    return base


def test_valid_demo_instrument_totals() -> None:
    instrument = Instrument.model_validate(_instrument())
    assert (instrument.min_total, instrument.max_total) == (0, 9)


def test_domain_counts_once_in_the_range() -> None:
    scoring = {"domains": [{"id": "d", "label": "D", "items": ["q1", "q2"]}]}
    instrument = Instrument.model_validate(_instrument(scoring=scoring))
    assert instrument.max_total == 6


@pytest.mark.parametrize(
    "bands",
    [
        [{"id": "a", "label": "A", "min_total": 0, "max_total": 3},
         {"id": "b", "label": "B", "min_total": 5, "max_total": 9}],  # gap at 4
        [{"id": "a", "label": "A", "min_total": 0, "max_total": 8}],  # does not reach 9
    ],
)  # fmt: skip
def test_band_gaps_are_refused(bands: list[dict[str, Any]]) -> None:
    with pytest.raises(ValidationError):
        Instrument.model_validate(_instrument(bands=bands))


def test_rules_must_name_existing_items() -> None:
    alert = {
        "id": "x", "when": {"item_id": "q9", "op": ">", "value": 0}, "severity": "info",
        "message": "m", "action": "a",
    }  # fmt: skip
    with pytest.raises(ValidationError):
        Instrument.model_validate(_instrument(alerts=[alert]))


def test_item_numbers_must_follow_published_order() -> None:
    items = _instrument()["items"]
    items[0], items[1] = items[1], items[0]
    with pytest.raises(ValidationError):
        Instrument.model_validate(_instrument(items=items))


def test_default_cutoff_must_be_cited() -> None:
    rule = {
        "type": "threshold", "id": "t", "label": "T", "op": ">=",
        "cutoff": {"default": 5, "choices": [{"value": 4, "source": SOURCE}]}, "source": SOURCE,
    }  # fmt: skip
    with pytest.raises(ValidationError):
        Instrument.model_validate(_instrument(rules=[rule]))


@pytest.mark.parametrize("rule_id", ["total", "severity"])
def test_rule_ids_cannot_shadow_result_fields(rule_id: str) -> None:
    rule = {
        "type": "threshold", "id": rule_id, "label": "T", "op": ">=",
        "cutoff": {"default": 4, "choices": [{"value": 4, "source": SOURCE}]}, "source": SOURCE,
    }  # fmt: skip
    with pytest.raises(ValidationError):
        Instrument.model_validate(_instrument(rules=[rule]))


def test_skip_logic_must_point_to_an_earlier_item() -> None:
    items = _instrument()["items"]
    items[0]["asked_only_if"] = {"item_id": "q2", "op": "==", "value": 1}
    with pytest.raises(ValidationError):
        Instrument.model_validate(_instrument(items=items))


# --- Reverse-scored items (no shipped instrument uses them yet; the engine supports them for
# forms with positively worded items). A synthetic instrument: q2 (0-3) and q4 (1-5) reversed.


def _reversed_instrument() -> Instrument:
    items = _instrument()["items"] + [
        {"id": "q4", "number": 4, "label": "Item 4", "min_value": 1, "max_value": 5}
    ]
    scoring = {
        "reverse_items": ["q2", "q4"],
        "subscales": [{"id": "positive", "label": "Reversed items", "items": ["q2", "q4"]}],
    }
    bands = [
        {"id": "low", "label": "Low", "min_total": 1, "max_total": 7},
        {"id": "high", "label": "High", "min_total": 8, "max_total": 14},
    ]
    return Instrument.model_validate(_instrument(items=items, scoring=scoring, bands=bands))


def test_reverse_items_score_min_plus_max_minus_the_answer() -> None:
    instrument = _reversed_instrument()
    # Range unchanged by reversing: 0-3 x 3 items plus 1-5 = 1..14.
    assert (instrument.min_total, instrument.max_total) == (1, 14)
    # q2 answered 0 scores 3 (0 + 3 - 0); q4 answered 1 scores 5 (1 + 5 - 1): 0 + 3 + 0 + 5 = 8.
    low_answers = score_instrument(instrument, [0, 0, 0, 1])
    assert (low_answers.total, low_answers.severity) == (8, "high")
    assert low_answers.subscales == {"positive": 8}
    # The stored answers stay as given; only the score is reversed.
    assert low_answers.item_answers == {"q1": 0, "q2": 0, "q3": 0, "q4": 1}
    # q1 3, q2 3 -> 0, q3 2, q4 4 -> 2: 3 + 0 + 2 + 2 = 7.
    assert score_instrument(instrument, [3, 3, 2, 4]).total == 7
    assert score_instrument(instrument, [0, 3, 0, 5]).total == 1  # the lowest possible
    assert score_instrument(instrument, [3, 0, 3, 1]).total == 14  # the highest possible


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(0, 3), min_size=3, max_size=3),
    st.integers(1, 5),
)
def test_reversed_totals_stay_in_range_and_mirror_the_plain_sum(
    first_three: list[int], q4: int
) -> None:
    instrument = _reversed_instrument()
    result = score_instrument(instrument, [*first_three, q4])
    assert instrument.min_total <= result.total <= instrument.max_total
    q1, q2, q3 = first_three
    assert result.total == q1 + (3 - q2) + q3 + (6 - q4)


def test_reverse_items_must_exist() -> None:
    with pytest.raises(ValidationError):
        Instrument.model_validate(_instrument(scoring={"reverse_items": ["q9"]}))


def test_every_instrument_and_outcome_source_states_whether_it_was_verified() -> None:
    # Source.verified defaults to true, so an entry that leaves it out would claim verification
    # silently; in the instrument and outcome files every source says so explicitly.
    root = resources.files("ketaclinic.clinical").joinpath("data")
    instruments = root.joinpath("instruments")
    files = [
        *sorted((f for f in instruments.iterdir() if f.name.endswith(".yaml")), key=str),
        root.joinpath("outcomes.yaml"),
    ]
    silent: list[str] = []

    def walk(node: Any, name: str) -> None:
        if isinstance(node, dict):
            if "citation" in node and "verified" not in node:
                silent.append(f"{name}: {node['citation'][:50]}")
            for value in node.values():
                walk(value, name)
        elif isinstance(node, list):
            for value in node:
                walk(value, name)

    for path in files:
        walk(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)
    assert len(files) >= 14
    assert silent == []
