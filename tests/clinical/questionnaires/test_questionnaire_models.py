"""The instrument model refuses inconsistent data files before anything is scored."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from ketaclinic.clinical.questionnaires import Instrument

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
